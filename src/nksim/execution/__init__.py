"""Execution of large runs: a population simulated in chunks, locally or on a Dask cluster,
streamed to a partitioned Parquet dataset, and resumable after a killed run.

Public API::

    from nksim.execution import run_to_folder, connect_scheduler, DEFAULT_CONNECT_TIMEOUT_S
    from nksim.execution import run_chunks, finish_run  # the two halves of run_to_folder
    from nksim.execution import dataset_from_table  # a chunk's table as a dataset again

See ``docs/scale.md``.
"""

from nksim.execution._connect import DEFAULT_CONNECT_TIMEOUT_S as DEFAULT_CONNECT_TIMEOUT_S
from nksim.execution._connect import connect_scheduler as connect_scheduler  # Dask client
from nksim.execution._folder import SUMMARY_PATIENT_LIMIT as SUMMARY_PATIENT_LIMIT
from nksim.execution._folder import ChunkedRun as ChunkedRun
from nksim.execution._folder import RunOutcome as RunOutcome
from nksim.execution._folder import fingerprint as fingerprint
from nksim.execution._folder import finish_run as finish_run
from nksim.execution._folder import partial_dir as partial_dir
from nksim.execution._folder import run_chunks as run_chunks
from nksim.execution._folder import run_to_folder as run_to_folder
from nksim.execution._tables import dataset_from_table as dataset_from_table
