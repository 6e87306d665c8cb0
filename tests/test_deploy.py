"""``deploy/``: the compose file and the load balancer's config pass real validators.

The compose file is checked against the Compose Specification's JSON schema (the copy
``check-jsonschema`` ships), and the nginx config is parsed by nginx's own ``crossplane`` with
every directive checked, inside the ``http`` block Docker's nginx image includes it from.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from engine.extract import ReaderWeights

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def test_compose_file_follows_the_compose_specification() -> None:
    checker = str(Path(sys.executable).with_name("check-jsonschema"))
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_replicas_share_one_home_and_the_balancer_reaches_them() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    replica = compose["services"]["specialist"]
    assert (DEPLOY / replica["build"]["context"] / replica["build"]["dockerfile"]).is_file()
    assert replica["deploy"]["replicas"] >= 2
    home = replica["environment"]["SPECIALIST_HOME"]
    assert f"specialist-home:{home}" in replica["volumes"]
    balancer = compose["services"]["balancer"]
    mounted = balancer["volumes"][0].split(":")[0]
    assert (DEPLOY / mounted).is_file()
    assert "server specialist:8000;" in (DEPLOY / mounted).read_text()


def test_nginx_config_parses_with_every_directive_known(tmp_path: Path) -> None:
    import crossplane

    main = tmp_path / "nginx.conf"
    main.write_text(f"events {{}}\nhttp {{ include {DEPLOY / 'nginx.conf'}; }}\n")
    parsed = crossplane.parse(str(main), strict=True)
    assert parsed["status"] == "ok", parsed["errors"]
    included = [conf for conf in parsed["config"] if conf["file"].endswith("deploy/nginx.conf")]
    directives = {d["directive"] for d in included[0]["parsed"]}
    assert directives == {"upstream", "server"}


def test_replicas_generate_on_the_engine_built_from_the_same_image() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    replica, engine = compose["services"]["specialist"], compose["services"]["engine"]
    assert replica["environment"]["SPECIALIST_ENGINE"] == "openai"
    assert replica["environment"]["SPECIALIST_ENGINE_URL"] == "http://engine:8080/v1"
    assert replica["depends_on"]["engine"]["condition"] == "service_healthy"
    assert engine["build"]["args"]["WITH_ENGINE"] == "true"
    assert "ARG WITH_ENGINE=false" in (ROOT / "Dockerfile").read_text()
    command = engine["command"][-1]
    assert "specialist engine-config --out /data/engine.json" in command
    assert "llama_cpp.server --config_file /data/engine.json" in command
    assert engine["volumes"] == replica["volumes"]


def test_replicas_read_with_shipped_judge_free_weights() -> None:
    replica = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["specialist"]
    weights = replica["environment"]["SPECIALIST_READER_WEIGHTS"]
    assert weights.startswith("/app/")  # the Dockerfile's WORKDIR holds the checkout
    shipped = ReaderWeights.load(ROOT / weights.removeprefix("/app/"))
    assert not shipped.uses_judge
