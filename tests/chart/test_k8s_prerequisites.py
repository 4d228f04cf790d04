"""k8s/: the cluster-wide objects are valid Kubernetes 1.30 too."""

from __future__ import annotations

import kubernetes_validate
import yaml

from tests.chart.conftest import CHART

K8S = CHART.parents[1] / "k8s"


def test_namespace_quota_and_limits_validate():
    documents = list(yaml.safe_load_all((K8S / "namespace.yaml").read_text()))
    assert [d["kind"] for d in documents] == ["Namespace", "ResourceQuota", "LimitRange"]
    for document in documents:
        kubernetes_validate.validate(document, "1.30.0", strict=True)
    labels = documents[0]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
