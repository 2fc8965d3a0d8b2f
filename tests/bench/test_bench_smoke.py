"""`python -m contribs.bench --quick` end to end: real `wazo-like-auth serve` (two nodes on one
embedded PostgreSQL), the ceiling, the bundled load generator, scale and purge, revocation
propagation. Asserts that every part produced numbers, never how fast they are."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = ('check HEAD', 'ceiling (bare 204)', 'granian bare WSGI 204 (Python-server limit)',
             'check GET',
             'check unknown (404)', 'check HEAD while logins run',
             'scopes check (5)', 'login (bcrypt 4)', 'refresh exchange',
             'check HEAD, +2,000 tokens', 'ceiling (bare 204), scale phase',
             'check unknown (404), +2,000 tokens',
             'check HEAD during purge', 'check HEAD (JWT)', 'client credentials (opaque)',
             'client credentials (JWT)')
RATIOS = ('check/ceiling: ', 'check/granian bare WSGI 204 (Python-server limit): ',
          'login/(cores ÷ one bcrypt verify): ', 'refresh/check: ')
NGINX = 'nginx return 204 (machine HTTP limit)'


def _table(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith('| ') and not line.startswith('| scenario'):
            cells = [cell.strip() for cell in line.strip('|').split('|')]
            rows[cells[0]] = cells
    return rows


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    output = tmp_path_factory.mktemp('bench') / 'RESULTS.md'
    completed = subprocess.run(
        [sys.executable, '-m', 'contribs.bench', '--quick', '--generator', 'bundled',
         '--nodes', '2', '--output', str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout, output


@pytest.mark.e2e
def test_every_scenario_has_throughput_and_no_error(run):
    stdout, _ = run
    assert 'load generator: bundled' in stdout
    rows = _table(stdout)
    for name in SCENARIOS:
        assert name in rows, f'{name} missing from:\n{stdout}'
        cells = rows[name]
        assert float(cells[2].replace(',', '')) > 0, cells
        assert cells[6] == '0', f'{name} had errors: {cells}'
        assert cells[8] != '–', f'{name}: PostgreSQL CPU not measured: {cells}'


@pytest.mark.e2e
def test_ratio_lines_come_last(run):
    stdout, _ = run
    lines = stdout.splitlines()
    for prefix in RATIOS:
        found = [line for line in lines if line.startswith(prefix)]
        assert len(found) == 1, prefix
        assert re.search(r'\d+\.\d+ at c=2', found[0]), found[0]
    last = max(i for i, line in enumerate(lines) if line.startswith('| '))
    assert all(any(line.startswith(p) for line in lines[last:]) for p in RATIOS)


@pytest.mark.e2e
def test_scale_and_nodes_are_reported(run):
    stdout, _ = run
    assert re.search(r'purge: 1,\d{3} expired sessions removed', stdout), stdout
    assert re.search(r'unknown-token check with the big table ÷ base table: [\d.]+ at c=2; '
                     r'each over the ceiling measured alongside: [\d.]+ at c=2', stdout), stdout
    assert re.search(r'still accepted elsewhere for: p50 [\d.]+ ms, max [\d.]+ ms over 10 '
                     r'revocations \(\d+ stale 204 answers, 0 never refused\)', stdout), stdout


@pytest.mark.e2e
def test_checks_during_logins_are_reported(run):
    stdout, _ = run
    assert re.search(r'check p99 while 2 connections keep logging in: [\d.]+ ms at c=2 '
                     r'\(alone: [\d.]+ ms\)', stdout), stdout
    found = re.search(r'logins meanwhile: ([\d.]+)/s, 0 errors', stdout)
    assert found and float(found[1]) > 0, stdout


@pytest.mark.e2e
def test_results_file_gets_the_run(run):
    stdout, output = run
    text = output.read_text()
    assert text.startswith('# Benchmark results')
    assert '- command: `python -m contribs.bench --quick --generator bundled' in text
    assert re.search(r'- machine: \d+ cores, ', text)
    assert re.search(r'- versions: python [\d.]+, granian .*PostgreSQL \d+', text)
    assert _table(text) == _table(stdout)


@pytest.mark.e2e
def test_memory_of_the_service_is_reported(run):
    stdout, _ = run
    found = re.search(r'largest service process RSS: ([\d.]+) MiB after the first scenario, '
                      r'([\d.]+) MiB after ([\d,]+) token checks', stdout)
    assert found, stdout
    assert float(found[1]) > 10 and float(found[2]) > 10
    assert int(found[3].replace(',', '')) > 0


@pytest.mark.e2e
def test_the_machine_http_limit_is_measured_or_its_absence_said(run):
    stdout, _ = run
    if shutil.which('nginx') or Path('/usr/sbin/nginx').exists():
        cells = _table(stdout)[NGINX]
        assert float(cells[2].replace(',', '')) > 0 and cells[6] == '0', cells
        assert re.search(r'^check/nginx return 204 \(machine HTTP limit\): [\d.]+ at c=2$',
                         stdout, re.M), stdout
    else:
        assert 'nginx not installed: no machine HTTP limit row' in stdout


@pytest.mark.e2e
def test_churn_mix_and_targets_are_reported(run):
    stdout, _ = run
    alone = re.search(r'- checks alone: ([\d,.]+) checks/s .* hit ratio ([\d.]+), errors 0',
                      stdout)
    churned = re.search(r'- with churn: ([\d,.]+) checks/s .* hit ratio ([\d.]+), errors 0 '
                        r'\(check [\d,]+, delete \d+, login \d+, read \d+, refresh \d+, '
                        r'write \d+\)', stdout)
    replayed = re.search(r'- churn only \(the ops of the run before, replayed\): .* errors 0 '
                         r'\(delete \d+, login \d+, read \d+, refresh \d+, write \d+\); CPU: '
                         r'service \+ PostgreSQL [\d.]+ cores', stdout)
    assert alone and churned and replayed, stdout
    assert float(churned[1].replace(',', '')) > 0 and 0 < float(churned[2]) <= 1
    for measure in ('cached check ÷ granian bare WSGI 204', 'check p99 at c=2',
                    'churn mix: hit ratio on known tokens',
                    'churn mix: CPU per check, no churn ÷ with churn',
                    'churn mix: check throughput ÷ no churn',
                    'cached check, JWT ÷ opaque (`confd.users.me.read`)',
                    'client credentials, JWT ÷ opaque (req/s)'):
        assert re.search(rf'^\| {re.escape(measure)} \| [^|]+ \| [^|]*\d[^|]* \| '
                         r'(yes|no|–) \|$', stdout, re.M), measure
    assert re.search(r'^churn: hit ratio on known tokens: [\d.]+$', stdout, re.M)


@pytest.mark.e2e
def test_events_on_the_bus_are_measured_or_their_absence_said(run):
    stdout, _ = run
    if not Path('/usr/lib/rabbitmq/bin/rabbitmq-server').exists():
        assert re.search(r'^- skipped: rabbitmq-server is not installed', stdout, re.M), stdout
        return
    rows = _table(stdout)
    for name in ('login (bcrypt 4)', 'refresh exchange', 'check HEAD'):
        for variant in ('off', 'on'):
            cells = rows[f'{name}, bus {variant}']
            assert float(cells[2].replace(',', '')) > 0 and cells[6] == '0', cells
    for label in ('login', 'refresh', 'check'):
        assert re.search(rf'^events: {label} bus on/off: [\d.]+ at c=2; by CPU per request: ',
                         stdout, re.M), label
    assert re.search(r'^events: publisher to a local RabbitMQ: [\d,]+ events/s$', stdout, re.M)
def test_the_verifier_offline_rate_is_reported_with_its_library(run):
    stdout, output = run
    pattern = (r'^- verifier offline verifications per second on one core: ([\d,]+) '
               r'\(joserfc [\d.]+ on cryptography [\d.]+, RS256; ')
    for text in (stdout, output.read_text()):
        found = re.search(pattern, text, re.M)
        assert found and int(found[1].replace(',', '')) > 0, text[-2000:]
