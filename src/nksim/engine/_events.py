"""Discrete events (:class:`nksim.model.Event`, e.g. from SBML) around the Rodas5P engine.

Each patient is integrated from event to event by the compiled engine. Between events the
triggers are evaluated on a grid of the integration (the output times plus a fine grid); a
trigger that changes between two grid points is located by bisection (each half a fresh
integration from the left point, to 1e-13 of the time scale). At an event time: events whose
trigger turned true fire (a delay schedules them, the assignments' values are taken then if
``use_trigger_time_values``), non-persistent delayed events whose trigger turned false are
cancelled, and the events due execute one at a time by decreasing priority, the triggers
being evaluated again after each (so events can trigger events). Values recorded at an
event time are those after the event. A trigger that turns true and false again between two
grid points is not seen (the grid has at least :data:`GRID` points per segment).
"""

from __future__ import annotations

import math

import numpy as np

from nksim.engine import _rodas5p
from nksim.model._declaration import rename_keywords, safe_identifier
from nksim.model._evaluate import evaluate

GRID = 200  # grid points per integration segment on which triggers are watched
MAX_EVENTS = 100_000  # event executions per patient before it is reported as failed
EVENT_LOOP = 4  # status code: events kept firing at one time (see STATUS_MESSAGES)
MESSAGES = {EVENT_LOOP: "events kept firing at the same time (an event loop)"}


class _Patient:
    def __init__(self, model, run_model, fns, params, times, options, threshold, nonneg, atol):
        self.model, self.run_model, self.fns = model, run_model, fns
        self.p = params.copy()
        self.times = times
        self.options = options
        self.threshold, self.nonneg, self.atol = threshold, nonneg, atol
        self.events = model.events
        self.steps = 0
        self.rejected = 0
        self.failed = 0
        self.t_reached = 0.0
        self._seq = 0
        self.state_names = [safe_identifier(s) for s in run_model.state_names]
        self.param_names = [safe_identifier(p) for p in model.parameter_names]
        self.index = {n: ("y", i) for i, n in enumerate(run_model.state_names)}
        self.index.update({n: ("p", j) for j, n in enumerate(model.parameter_names)})

    # ------------------------------------------------------------ integration
    def integrate(self, y: np.ndarray, t0: float, rec: np.ndarray):
        n = y.size
        out = np.empty((n, 1, rec.size))  # the solver's layout: state, patient, record
        ext = np.empty((1, n))
        st = np.empty((1, 4))
        ptr = np.zeros(2, dtype=np.int64)
        empty_f, empty_i = np.empty(0), np.empty(0, dtype=np.int64)
        y = y.copy()
        if len(self.run_model.states) > len(self.model.states):
            y[-1] = t0  # the clock
        _rodas5p.integrate_range(
            *self.fns.kernels, 0, 1, np.ascontiguousarray(y[None, :]),
            np.ascontiguousarray(self.p[None, :]), np.ascontiguousarray(rec), float(t0),
            float(rec[-1]), ptr, empty_f, empty_i, empty_f, empty_f, self.threshold,
            self.nonneg, float(self.options.rtol), self.atol, float(self.options.h_max),
            int(self.options.max_steps), out, ext, st)
        self.segment_extinctions = ext[0]
        self.steps += int(st[0, 2])
        self.rejected += int(st[0, 3])
        if int(st[0, 0]) != _rodas5p.OK:
            self.failed = int(st[0, 0])
            self.t_reached = float(st[0, 1])
            return None
        return np.ascontiguousarray(out[:, 0, :].T)  # (records, states)

    # ------------------------------------------------------------ formulas
    def env(self, ys: np.ndarray, ts: np.ndarray) -> dict:
        values: dict = {"t": np.asarray(ts, float)}
        for i, name in enumerate(self.state_names):
            values[name] = ys[:, i]
        for j, name in enumerate(self.param_names):
            values[name] = self.p[j]
        for name, (text, _u, _d) in self.model.expressions.items():
            values[safe_identifier(name)] = evaluate(rename_keywords(text), values)
        return values

    def triggers(self, values: dict, size: int) -> np.ndarray:
        out = np.empty((len(self.events), size), dtype=bool)
        for i, ev in enumerate(self.events):
            v = evaluate(rename_keywords(ev.trigger), values)
            out[i] = np.broadcast_to(np.nan_to_num(v, nan=0.0) != 0, (size,))
        return out

    def scalar(self, formula: str, values: dict) -> float:
        return float(np.ravel(evaluate(rename_keywords(formula), values))[0])

    # ------------------------------------------------------------ events at one time
    def at_event_time(self, t: float, y: np.ndarray) -> np.ndarray:
        """Fire, cancel and execute events at time ``t``; the state after them."""
        tol = 1e-12 * max(1.0, abs(t))
        for _ in range(MAX_EVENTS):
            values = self.env(y[None, :], np.array([t]))
            cur = self.triggers(values, 1)[:, 0]
            for i, ev in enumerate(self.events):
                if cur[i] and not self.prev[i]:
                    delay = self.scalar(ev.delay, values) if ev.delay else 0.0
                    stored = self.assigned(ev, values) if ev.use_trigger_time_values else None
                    self._seq += 1
                    self.pending.append((t + delay, self._seq, i, stored))
                elif self.prev[i] and not cur[i] and not ev.persistent:
                    self.pending = [q for q in self.pending if q[2] != i]
            self.prev = cur
            due = sorted((q for q in self.pending if q[0] <= t + tol), key=lambda q: q[1])
            if not due:
                return y
            pick = due[0]
            if len(due) > 1:
                prios = [self.scalar(self.events[q[2]].priority, values)
                         if self.events[q[2]].priority else -math.inf for q in due]
                # equal priorities: the first triggered goes first (SBML: in random order)
                pick = due[int(np.argmax(prios))]
            self.pending.remove(pick)
            ev = self.events[pick[2]]
            new = pick[3] if pick[3] is not None else self.assigned(ev, values)
            y = y.copy()
            for target, value in new.items():
                kind, k = self.index[target]
                if kind == "y":
                    y[k] = value
                    if value > 0:  # an event that refills a state revives it, as a dose
                        self.extinction[k] = np.nan
                else:
                    self.p[k] = value
        self.failed = EVENT_LOOP
        return y

    def assigned(self, ev, values: dict) -> dict[str, float]:
        return {target: self.scalar(text, values) for target, text in ev.assignments.items()}

    # ------------------------------------------------------------ one patient
    def run(self, y0: np.ndarray, t_start: float) -> np.ndarray:
        times = self.times
        n = y0.size
        rec = np.full((times.size, n), np.nan)
        k = 0
        t, y = float(t_start), y0.copy()
        self.extinction = np.full(n, np.nan)  # first extinction time of each state
        self.prev = np.array([ev.initial_value for ev in self.events], dtype=bool)
        self.pending: list = []
        t_end = float(times[-1])
        y = self.at_event_time(t, y)
        while k < times.size and times[k] <= t and not self.failed:
            rec[k] = y
            k += 1
        while t < t_end and not self.failed:
            next_due = min((q[0] for q in self.pending), default=math.inf)
            seg_end = min(t_end, next_due)
            if not seg_end > t:  # due at t already (executed): continue past it
                seg_end = min(t_end, next((q[0] for q in sorted(self.pending)
                                           if q[0] > t), t_end))
            grid = np.unique(np.concatenate([
                times[(times > t) & (times <= seg_end)],
                np.linspace(t, seg_end, GRID + 1)[1:]]))
            ys = self.integrate(y, t, grid)
            if ys is None:
                break
            extinct_at = self.segment_extinctions.copy()  # before any bisection overwrites
            trig = self.triggers(self.env(ys, grid), grid.size)
            changed = (trig != self.prev[:, None]).any(axis=0)
            if changed.any():
                j = int(np.argmax(changed))
                lo_t, lo_y = (t, y) if j == 0 else (grid[j - 1], ys[j - 1])
                hi_t, hi_y = grid[j], ys[j]
                for _ in range(200):
                    if hi_t - lo_t <= 1e-13 * max(1.0, abs(hi_t)):
                        break
                    mid = 0.5 * (lo_t + hi_t)
                    ym = self.integrate(lo_y, lo_t, np.array([mid]))
                    if ym is None:
                        break
                    if (self.triggers(self.env(ym, np.array([mid])), 1)[:, 0] != self.prev).any():
                        hi_t, hi_y = mid, ym[0]
                    else:
                        lo_t, lo_y = mid, ym[0]
                if self.failed:
                    break
                t_new, y_new = float(hi_t), hi_y
            else:
                t_new, y_new = float(seg_end), ys[-1]
            new = np.isnan(self.extinction) & (extinct_at <= t_new)  # NaN: none
            self.extinction[new] = extinct_at[new]
            while k < times.size and times[k] < t_new:
                rec[k] = ys[np.searchsorted(grid, times[k])]
                k += 1
            t, y = t_new, y_new
            y = self.at_event_time(t, y)
            while k < times.size and times[k] <= t and not self.failed:
                rec[k] = y
                k += 1
        if not self.failed or self.failed == EVENT_LOOP:  # failed at an event: at its time
            self.t_reached = t
        return rec


def integrate_with_events(model, run_model, fns, times, params, y0, t_start, options,
                          threshold, nonneg, atol):
    """``(out (patients, times, states), extinction times (patients, states), stats
    (patients, 4))`` for a model with events."""
    n_pat = params.shape[0]
    out = np.full((n_pat, times.size, y0.shape[1]), np.nan)
    extinction = np.full((n_pat, y0.shape[1]), np.nan)
    stats = np.zeros((n_pat, 4))
    for q in range(n_pat):
        patient = _Patient(model, run_model, fns, params[q], times, options, threshold,
                           nonneg, atol)
        with np.errstate(all="ignore"):
            out[q] = patient.run(y0[q], t_start)
        extinction[q] = patient.extinction
        stats[q] = (patient.failed, patient.t_reached, patient.steps, patient.rejected)
    return out, extinction, stats
