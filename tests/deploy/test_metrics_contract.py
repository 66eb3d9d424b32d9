"""Every metric the dashboard and the alert rules query exists on a real worker's /metrics, with
the labels and label values they use: a renamed metric or label fails here, not on an
operator's screen.

A worker (in-process, on the session's dev server, with its own Prometheus endpoint) runs known
runs: completed, failed, a retried tool, a review approved, one left waiting, one past its
deadline, a policy denial and a loop. Then each PromQL expression of deploy/prometheus/rules.yml
and each query of deploy/grafana/dashboards/agentrun.json (panel targets and template
variables) is parsed, and every selector in it is checked against the scrape: the metric
exists, every label it matches on exists, its literal matchers select samples, and every
``by``/``on`` label and every label a legend or an annotation names is one the expression's
result carries.
"""

import asyncio
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest
from agentrun.contracts.names import Metric
from agentrun.contracts.states import RunState
from tests.support.prometheus import Samples, metered_worker, scrape, total
from tests.support.waiting import wait_for_review

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "agentrun.json"

# Labels Prometheus gives every series it scrapes, and series it makes up itself.
TARGET_LABELS = frozenset({"job", "instance"})
SYNTHETIC = {"up": TARGET_LABELS}
# Grafana's interval variables, as a query reaches Prometheus.
GRAFANA_INTERVALS = {"$__rate_interval": "5m", "$__range": "6h", "$__interval": "1m"}


# ----------------------------------------------------------------- a worker and known runs


async def run_to_end(runs: AgentRunClient, agent: str, run_input: dict[str, Any]) -> RunState:
    run_id = await runs.start(RunRequest(agent=agent, input=run_input))
    return (await runs.result(run_id)).state


async def reviewed_run(runs: AgentRunClient, *, approve: bool) -> str:
    """A run at its final review: approved (a review latency), or left waiting (the backlog)."""
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "c"}))
    await wait_for_review(runs, run_id)
    if approve:
        await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
        await runs.result(run_id)
    return run_id


async def known_runs(runs: AgentRunClient) -> dict[str, RunState]:
    """One of each kind of run the dashboard and the rules look at, all at once."""
    ended = {
        "echo": ("echo", {"key": "c"}),  # COMPLETED
        "strict": ("strict", {"key": "c"}),  # FAILED tool_error_permanent (a 404)
        "flaky": ("flaky", {"key": "c"}),  # a 503, retried, then COMPLETED
        "timeout-reject": ("timeout-reject", {"key": "c"}),  # review deadline (2 s) missed
        "triage-deny": ("triage-deny", {"customer_id": "c-1"}),  # FAILED policy_denied
        "looping": ("looping", {"key": "c"}),  # FAILED loop_detected
    }
    states, _ = await asyncio.gather(
        asyncio.gather(*(run_to_end(runs, a, i) for a, i in ended.values())),
        asyncio.gather(reviewed_run(runs, approve=True), reviewed_run(runs, approve=False)),
    )
    return dict(zip(ended, states, strict=True))


KNOWN_STATES = {
    "echo": RunState.COMPLETED,
    "strict": RunState.FAILED,
    "flaky": RunState.COMPLETED,
    "timeout-reject": RunState.FAILED,
    "triage-deny": RunState.FAILED,
    "looping": RunState.FAILED,
}


# Totals the scrape must reach before it is read: the exporter publishes periodically.
AWAITED: list[tuple[str, dict[str, str], float]] = [
    (Metric.RUNS_FINISHED, {}, 7),  # the six above and the approved review
    (Metric.STATE_ENTERED, {"state": "REVIEWING"}, 3),
    (Metric.REVIEW_DEADLINES_MISSED, {}, 1),
    (Metric.TOOL_CALLS, {"retryable": "true"}, 1),
]


async def scrape_when(port: int, awaited: list[tuple[str, dict[str, str], float]]) -> Samples:
    """The worker's samples once every awaited total is reached, else the last scrape."""
    samples: Samples = []
    for _ in range(100):
        samples = await asyncio.to_thread(scrape, port)
        if all(total(samples, name, **labels) >= n for name, labels, n in awaited):
            break
        await asyncio.sleep(0.1)
    return samples


# ----------------------------------------------------------------- PromQL, as far as we use it

TOKEN = re.compile(
    r"""(?P<space>\s+|\#[^\n]*)
    |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<duration>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<ident>[a-zA-Z_:][\w:]*)
    |(?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=(){}\[\],:@])""",
    re.VERBOSE,
)
AGGREGATIONS = frozenset(
    {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"}
    | {"topk", "bottomk", "quantile", "count_values"}
)
# Binary operators by precedence, loosest first; ^ binds right.
PRECEDENCE = (
    ("or",),
    ("and", "unless"),
    ("==", "!=", ">", "<", ">=", "<="),
    ("+", "-"),
    ("*", "/", "%", "atan2"),
    ("^",),
)


@dataclass
class Selector:
    name: str
    matchers: list[tuple[str, str, str]]  # (label, op, value)


@dataclass
class Call:
    function: str
    args: list["Node"]


@dataclass
class Aggregation:
    op: str
    args: list["Node"]
    by: list[str] | None = None
    without: list[str] | None = None


@dataclass
class Binary:
    op: str
    lhs: "Node"
    rhs: "Node"
    on: list[str] | None = None
    ignoring: list[str] | None = None
    group: bool = False


@dataclass
class Scalar:
    text: str


Node = Selector | Call | Aggregation | Binary | Scalar


def tokens(text: str) -> list[tuple[str, str]]:
    found, pos = [], 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"cannot read PromQL at {text[pos : pos + 30]!r}")
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            found.append((kind, match.group()))
        pos = match.end()
    return found


@dataclass
class Parser:
    toks: list[tuple[str, str]]
    pos: int = 0

    @classmethod
    def parse(cls, text: str) -> Node:
        for variable, value in GRAFANA_INTERVALS.items():
            text = text.replace(variable, value)
        parser = cls(tokens(text))
        node = parser.expr(0)
        if parser.pos != len(parser.toks):
            raise ValueError(f"unparsed rest: {parser.toks[parser.pos :]}")
        return node

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.toks[index][1] if index < len(self.toks) else ""

    def take(self, expected: str | None = None) -> str:
        value = self.peek()
        if expected is not None and value != expected:
            raise ValueError(f"expected {expected!r}, got {value!r} at token {self.pos}")
        self.pos += 1
        return value

    def labels(self) -> list[str]:
        self.take("(")
        names: list[str] = []
        while self.peek() != ")":
            names.append(self.take())
            if self.peek() == ",":
                self.take()
        self.take(")")
        return names

    def expr(self, level: int) -> Node:
        if level == len(PRECEDENCE):
            return self.unary()
        lhs = self.expr(level + 1)
        while self.peek() in PRECEDENCE[level]:
            op = self.take()
            node = Binary(op, lhs, Scalar(""))
            if self.peek() == "bool":
                self.take()
            if self.peek() in ("on", "ignoring"):
                keyword = self.take()
                setattr(node, keyword, self.labels())
            if self.peek() in ("group_left", "group_right"):
                self.take()
                node.group = True
                if self.peek() == "(":
                    self.labels()
            # ^ is right-associative; the rest bind left.
            node.rhs = self.expr(level if op == "^" else level + 1)
            lhs = node
        return lhs

    def unary(self) -> Node:
        if self.peek() in ("-", "+"):
            self.take()
        return self.postfix(self.primary())

    def primary(self) -> Node:
        kind, value = self.toks[self.pos]
        if value == "(":
            self.take()
            node = self.expr(0)
            self.take(")")
            return node
        if kind in ("number", "string"):
            self.take()
            return Scalar(value)
        if kind != "ident":
            raise ValueError(f"unexpected {value!r}")
        self.take()
        if value in AGGREGATIONS and self.peek() in ("(", "by", "without"):
            return self.aggregation(value)
        if self.peek() == "(":
            return Call(value, self.arguments())
        matchers: list[tuple[str, str, str]] = []
        if self.peek() == "{":
            self.take()
            while self.peek() != "}":
                label, op, text = self.take(), self.take(), self.take()
                matchers.append((label, op, _unquote(text)))
                if self.peek() == ",":
                    self.take()
            self.take("}")
        return Selector(value, matchers)

    def aggregation(self, op: str) -> Aggregation:
        node = Aggregation(op, [])
        for _ in range(2):  # the grouping may come before or after the arguments
            if self.peek() in ("by", "without"):
                setattr(node, self.take(), self.labels())
            elif self.peek() == "(" and not node.args:
                node.args = self.arguments()
        return node

    def arguments(self) -> list[Node]:
        self.take("(")
        args: list[Node] = []
        while self.peek() != ")":
            args.append(self.expr(0))
            if self.peek() == ",":
                self.take()
        self.take(")")
        return args

    def postfix(self, node: Node) -> Node:
        while True:
            if self.peek() == "[":  # a range, or a subquery [range:step]
                while self.take() != "]":
                    pass
            elif self.peek() == "offset":
                self.take()
                if self.peek() == "-":
                    self.take()
                self.take()
            elif self.peek() == "@":
                self.take()
                self.postfix(self.primary())
            else:
                return node


def _unquote(text: str) -> str:
    return text[1:-1].encode().decode("unicode_escape") if text[:1] in "\"'" else text


# ----------------------------------------------------------------- checking against a scrape


@dataclass
class Contract:
    """The label names (and sample label sets) of each metric a worker exported."""

    samples: dict[str, list[dict[str, str]]]
    problems: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, samples: Samples) -> "Contract":
        by_name: dict[str, list[dict[str, str]]] = {}
        for name, labels, _ in samples:
            by_name.setdefault(name, []).append(labels)
        return cls(by_name)

    def check(self, where: str, expr: str, named: Collection[str] = ()) -> set[str] | None:
        """Check one expression; ``named``: labels its legend or annotations use."""
        try:
            node = Parser.parse(expr)
        except (ValueError, IndexError) as err:
            self.problems.append(f"{where}: does not parse ({err}): {expr}")
            return None
        result = self.labels(where, node)
        missing = set(named) - (result or set())
        if missing:
            self.problems.append(f"{where}: names {sorted(missing)}, not on its result {result}")
        return result

    def labels(self, where: str, node: Node) -> set[str] | None:
        """The labels of the node's result (None: a scalar), noting every problem on the way."""
        if isinstance(node, Selector):
            return self.selector(where, node)
        if isinstance(node, Call):
            return self.call(where, node)
        if isinstance(node, Aggregation):
            return self.aggregation(where, node)
        if isinstance(node, Binary):
            return self.binary(where, node)
        return None

    def call(self, where: str, node: Call) -> set[str]:
        found = [self.labels(where, arg) for arg in node.args]
        vectors = [f for f in found if f is not None]
        if node.function == "vector" or not vectors:
            return set()
        return vectors[0] - {"le"} if node.function == "histogram_quantile" else vectors[0]

    def aggregation(self, where: str, node: Aggregation) -> set[str]:
        found = [self.labels(where, arg) for arg in node.args]
        inner = (found[-1] if found else None) or set()
        grouping = set(node.by if node.by is not None else node.without or [])
        if not grouping <= inner:
            self.problems.append(
                f"{where}: {node.op} by {sorted(grouping - inner)}, which its argument does "
                f"not carry (it has {sorted(inner)})"
            )
        if node.by is not None:
            return set(node.by)
        return inner - grouping

    def binary(self, where: str, node: Binary) -> set[str] | None:
        lhs, rhs = self.labels(where, node.lhs), self.labels(where, node.rhs)
        if lhs is None or rhs is None:
            return lhs if rhs is None else rhs
        if node.on is not None:
            for side, found in (("left", lhs), ("right", rhs)):
                if not set(node.on) <= found:
                    self.problems.append(
                        f"{where}: on {sorted(set(node.on) - found)} missing on the {side} "
                        f"side of {node.op!r}"
                    )
        elif node.op not in ("and", "unless") and not node.group:
            ignored = set(node.ignoring or [])
            if lhs - ignored != rhs - ignored:
                self.problems.append(
                    f"{where}: the sides of {node.op!r} carry different labels "
                    f"({sorted(lhs)} vs {sorted(rhs)}), so they match nothing"
                )
        if node.op in ("and", "unless"):
            return lhs
        return lhs & rhs

    def selector(self, where: str, sel: Selector) -> set[str]:
        if sel.name in SYNTHETIC:
            return set(SYNTHETIC[sel.name])
        rows = self.samples.get(sel.name)
        if not rows:
            self.problems.append(f"{where}: metric {sel.name} is not on the worker's /metrics")
            return set()
        names = set().union(*rows)
        for label, _, _ in sel.matchers:
            if label not in names and label not in TARGET_LABELS:
                self.problems.append(
                    f"{where}: {sel.name} has no label {label!r} (it has {sorted(names)})"
                )
        # The matchers that are no template variable must select something after known runs.
        literal = [m for m in sel.matchers if "$" not in m[2] and m[0] not in TARGET_LABELS]
        chosen = [row for row in rows if all(_matches(row, m) for m in literal)]
        if not chosen:
            self.problems.append(f"{where}: no sample of {sel.name} matches {literal}")
        for label, op, value in literal:
            if op == "=~" and re.fullmatch(r"\w+(\|\w+)*", value):
                for each in value.split("|"):
                    if not any(row.get(label) == each for row in chosen):
                        self.problems.append(
                            f"{where}: no sample of {sel.name}{{{label}={each!r}}}"
                        )
        return names | TARGET_LABELS


def _matches(row: dict[str, str], matcher: tuple[str, str, str]) -> bool:
    label, op, value = matcher
    have = row.get(label, "")
    if op == "=":
        return have == value
    if op == "!=":
        return have != value
    found = re.fullmatch(value, have) is not None
    return found if op == "=~" else not found


# ----------------------------------------------------------------- what the files query


@dataclass
class Query:
    where: str
    expr: str
    named: set[str]


TEMPLATE_LABEL = re.compile(r"\$labels\.(\w+)")
LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")
LABEL_VALUES = re.compile(r"^label_values\((?:(.*),\s*)?(\w+)\)$", re.DOTALL)


def rule_queries() -> Iterator[Query]:
    document = yaml.safe_load(RULES.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            text = " ".join(str(v) for v in rule.get("annotations", {}).values())
            named = set(TEMPLATE_LABEL.findall(text))
            yield Query(f"rules.yml {name}", rule["expr"], named - set(rule.get("labels", {})))


def dashboard_queries() -> Iterator[Query]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = list(dashboard["panels"])
    for row in list(panels):
        panels.extend(row.get("panels", []))
    for panel in panels:
        for target in panel.get("targets", []):
            legend = target.get("legendFormat", "")
            named = set(LEGEND_LABEL.findall(legend)) - {"__auto"}
            where = f"agentrun.json {panel['title']!r} {target['refId']}"
            yield Query(where, target["expr"], named)
    for variable in dashboard["templating"]["list"]:
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = LABEL_VALUES.match(text.strip())
        assert match is not None, f"variable {variable['name']}: not label_values(): {text}"
        selector, label = match.groups()
        assert selector, f"variable {variable['name']}: label_values() of every metric"
        yield Query(f"agentrun.json variable {variable['name']}", selector, {label})


def test_the_dashboard_is_one_grid_on_the_prometheus_data_source() -> None:
    """Grafana's own checks, as far as a file can have them: unique panel ids, panels inside the
    24-column grid and not over each other, and every query on the data source uid that
    deploy/grafana/provisioning provisions (``prometheus``)."""
    dashboard = json.loads(DASHBOARD.read_text())
    assert (dashboard["uid"], dashboard["schemaVersion"]) == ("agentrun", 39)
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] <= grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
            assert panel["targets"], panel["title"]
            assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])
    for variable in dashboard["templating"]["list"]:
        assert variable["datasource"] == {"type": "prometheus", "uid": "prometheus"}


def test_every_query_parses_as_far_as_the_contract_reads() -> None:
    """The parser reads every query of both files to its end (and the count is not zero)."""
    queries = [*rule_queries(), *dashboard_queries()]
    assert len(queries) >= 30
    for query in queries:
        Parser.parse(query.expr)


def test_the_contract_check_finds_a_renamed_metric_or_label() -> None:
    samples: Samples = [
        ("agentrun_tool_calls_total", {"tool": "a", "status": "error"}, 1.0),
        ("agentrun_tool_calls_total", {"tool": "a", "status": "success"}, 3.0),
    ]
    good = Contract.of(samples)
    assert good.check(
        "good",
        'sum by (tool) (rate(agentrun_tool_calls_total{status="error"}[5m]))'
        " / sum by (tool) (rate(agentrun_tool_calls_total[5m]))",
        {"tool"},
    ) == {"tool"}
    assert good.problems == []
    for expr, named, problem in [
        ("rate(agentrun_tool_call_total[5m])", set(), "is not on"),
        ('agentrun_tool_calls_total{outcome="error"}', set(), "no label 'outcome'"),
        ('agentrun_tool_calls_total{status="failed"}', set(), "no sample"),
        ("sum by (agent) (agentrun_tool_calls_total)", set(), "does not carry"),
        ("sum by (tool) (agentrun_tool_calls_total)", {"agent"}, "names ['agent']"),
        (
            "sum by (tool) (agentrun_tool_calls_total) / sum(agentrun_tool_calls_total)",
            set(),
            "match nothing",
        ),
    ]:
        bad = Contract.of(samples)
        bad.check("bad", expr, named)
        assert bad.problems, expr
        assert problem in bad.problems[0], bad.problems


async def test_dashboard_and_rules_query_what_a_worker_exports(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with metered_worker(temporal_env, tmp_path, "contract") as worker:
        assert await known_runs(worker.runs) == KNOWN_STATES
        samples = await scrape_when(worker.port, AWAITED)

    # The metrics added for the dashboard count exactly.
    entered, left = Metric.STATE_ENTERED, f"{Metric.STATE_DURATION}_count"
    backlog = total(samples, entered, agent="reviewed", state="REVIEWING") - total(
        samples, left, agent="reviewed", state="REVIEWING"
    )
    assert backlog == 1  # one run approved, one still waiting
    for agent in KNOWN_STATES:
        for state in ("INIT", "PREPARING", "EXECUTING", "REVIEWING"):
            assert total(samples, entered, agent=agent, state=state) == total(
                samples, left, agent=agent, state=state
            ), (agent, state)
    assert total(samples, entered, agent="echo", state="COMPLETED") == 1
    missed = Metric.REVIEW_DEADLINES_MISSED
    assert total(samples, missed, agent="timeout-reject", kind="final") == 1
    assert total(samples, missed) == 1
    # triage-deny's lethal-trifecta rule denied its send: one security event, of that kind.
    security = Metric.SECURITY_EVENTS
    assert total(samples, security, agent="triage-deny", kind="lethal_trifecta") == 1
    assert total(samples, security) == 1

    contract = Contract.of(samples)
    queries = [*rule_queries(), *dashboard_queries()]
    for query in queries:
        contract.check(query.where, query.expr, query.named)
    assert contract.problems == [], "\n".join(contract.problems)
