#!/usr/bin/env bash
# A GKE node pool of L4 GPUs for snapclip's Triton pods: one GPU per node, Google-managed
# drivers, tainted so only pods that tolerate nvidia.com/gpu land there, autoscaled 0..6.
# GKE labels each node with cloud.google.com/gke-accelerator; the GPU operator's feature
# discovery (or GKE's own) adds nvidia.com/gpu.product, which the chart's affinity uses.
set -euo pipefail
: "${CLUSTER:?set CLUSTER}" "${REGION:?set REGION}"
gcloud container node-pools create snapclip-l4 \
  --cluster "$CLUSTER" --region "$REGION" \
  --machine-type g2-standard-12 \
  --accelerator "type=nvidia-l4,count=1,gpu-driver-version=latest" \
  --node-taints "nvidia.com/gpu=present:NoSchedule" \
  --node-labels "snapclip.dev/pool=gpu" \
  --enable-autoscaling --min-nodes 0 --max-nodes 6 \
  --disk-size 200 --disk-type pd-ssd \
  --shielded-secure-boot --enable-image-streaming
