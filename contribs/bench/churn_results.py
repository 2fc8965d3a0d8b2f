"""What the churn mix (churn.py) measured: its runs, the ratios the targets use, and the lines
that report them. Why the CPU per check, not the throughput, is the target: churn.py."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

ALONE, WITH, ONLY = 'checks alone', 'with churn', 'churn only'


@dataclass
class ChurnRun:
    label: str  # ALONE, WITH or ONLY
    seconds: float
    counts: Counter
    hits: float  # cache hits counted by the service over the window
    known_checks: int  # checks of live tokens, the window's and the counter syncs'
    server_cpu: float | None = None  # service + PostgreSQL CPU seconds over the window
    client_cpu: float | None = None  # CPU seconds of the client processes
    ops: dict[int, dict[str, int]] = field(default_factory=dict)  # churning client → its ops
    # Seconds the checkers checked (their mean): the run's window also waits for the churn's
    # last op, a login that may take a second on busy cores, while no check is sent.
    check_seconds: float = 0.0

    @property
    def errors(self) -> int:
        return self.counts['errors']

    @property
    def check_window(self) -> float:
        """The seconds the checks were sent over (the run's, when no checker said)."""
        return self.check_seconds or self.seconds

    @property
    def check_rps(self) -> float:
        return self.counts['check'] / self.check_window if self.check_window else 0.0

    @property
    def hit_ratio(self) -> float:
        return min(1.0, self.hits / self.known_checks) if self.known_checks else 0.0


@dataclass
class ChurnSection:
    runs: list[ChurnRun] = field(default_factory=list)

    def of(self, label: str) -> list[ChurnRun]:
        return [r for r in self.runs if r.label == label]

    def _rate(self, label: str, what, window=lambda r: r.seconds) -> float:
        runs = self.of(label)
        seconds = sum(window(r) for r in runs)
        return sum(what(r) for r in runs) / seconds if seconds else 0.0

    def _check_rate(self, label: str) -> float:
        return self._rate(label, lambda r: r.counts['check'], lambda r: r.check_window)

    @property
    def throughput_ratio(self) -> float:
        alone = self._check_rate(ALONE)
        return self._check_rate(WITH) / alone if alone else 0.0

    @property
    def hit_ratio(self) -> float:
        runs = self.of(WITH)
        return sum(r.hits for r in runs) / max(1, sum(r.known_checks for r in runs))

    @property
    def measured_cpu(self) -> bool:
        return bool(self.runs) and all(r.server_cpu is not None for r in self.runs)

    @property
    def churn_cores(self) -> float:
        """Service + PostgreSQL CPU of the churn alone, in cores."""
        return self._rate(ONLY, lambda r: r.server_cpu)

    @property
    def check_cpu_ratio(self) -> float:
        """Service + PostgreSQL CPU per check with no churn ÷ the same with churn, the churn's
        own CPU (its churn-only replay) taken out; 0.0 when not measurable."""
        alone = self.of(ALONE)
        pairs = list(zip(self.of(WITH), self.of(ONLY)))
        checks = sum(w.counts['check'] for w, _ in pairs)
        churned = sum(w.server_cpu - o.server_cpu for w, o in pairs)
        alone_checks = sum(r.counts['check'] for r in alone)
        if not checks or churned <= 0 or not alone_checks:
            return 0.0
        return (sum(r.server_cpu for r in alone) / alone_checks) / (churned / checks)

    @property
    def throughput_bound(self) -> float:
        """The throughput ratio a service whose checks cost the same under churn would show
        here: the checks-alone run's CPU (service, PostgreSQL, clients) less the churn's."""
        busy = self._rate(ALONE, lambda r: r.server_cpu + r.client_cpu)
        return max(0.0, busy - self.churn_cores) / busy if busy else 0.0


def lines(section: ChurnSection) -> list[str]:
    """The runs, one line each, then what the CPU figures say (see the module docstring)."""
    out = []
    for run in section.runs:
        ops = ', '.join(f'{k} {v:,}' for k, v in sorted(run.counts.items()) if k != 'errors')
        cpu = '' if run.server_cpu is None else (
            f'; CPU: service + PostgreSQL {run.server_cpu / run.seconds:.2f} cores, '
            f'clients {run.client_cpu / run.seconds:.2f} cores')
        if run.label == ONLY:
            out.append(f'- {run.label} (the ops of the run before, replayed): over '
                       f'{run.seconds:.1f} s, errors {run.errors} ({ops}){cpu}')
        else:
            out.append(f'- {run.label}: {run.check_rps:,.1f} checks/s over '
                       f'{run.check_window:.1f} s (run {run.seconds:.1f} s), '
                       f'hit ratio {run.hit_ratio:.3f}, errors {run.errors} ({ops}){cpu}')
    if section.measured_cpu:
        out.append(f'- the churn alone costs {section.churn_cores:.2f} cores of service + '
                   f'PostgreSQL CPU: with the checks costing what they cost alone, the check '
                   f'throughput could keep at most {section.throughput_bound:.2f} of its '
                   f'no-churn figure here (measured: {section.throughput_ratio:.2f}); CPU per '
                   f'check, no churn ÷ with churn (the churn\'s own CPU taken out): '
                   f'{section.check_cpu_ratio:.2f}')
    return out


def ratio_lines(section: ChurnSection | None) -> list[str]:
    """The churn's lines of the run's ratios block; none when the churn did not run."""
    if not section or not section.runs:
        return []
    out = [f'churn: hit ratio on known tokens: {section.hit_ratio:.3f}',
           f'churn: check throughput ÷ no churn: {section.throughput_ratio:.3f}']
    if section.measured_cpu:
        out.append(f'churn: CPU per check, no churn ÷ with churn: {section.check_cpu_ratio:.3f}')
    return out
