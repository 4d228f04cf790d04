# syntax=docker/dockerfile:1.7
# Triton for snapclip: NVIDIA's vLLM image + what our models need. Two targets:
#   docker build -f docker/triton.Dockerfile --target gpu -t ghcr.io/snapclip/triton:25.09-snapclip0.1.0 .
#   docker build -f docker/triton.Dockerfile --target cpu -t ghcr.io/snapclip/triton:25.09-snapclip0.1.0-cpu .
#
# Compatibility this file relies on (checked at build time where it can be):
# - 25.09 is the newest release on CUDA 12 (12.9.1): the CTranslate2 4.6 wheels behind the
#   `whisper` model are built for CUDA 12 + cuDNN 9; 25.10 moved to CUDA 13.
# - The -vllm-python-py3 image carries the vllm and python backends but not onnxruntime,
#   which serves `clip_image_encoder`/`clip_text_encoder` (ONNX with the TensorRT execution
#   provider): it is copied from the -py3 image of the same release.
# - model_repository/llm/1/model.json uses `structured_outputs_config`, which needs vLLM
#   >= 0.10.2; the build stops if the image's vLLM is older.
# - The images run Python 3.12; snapclip is developed on 3.11 (the local python-backend stub),
#   and the backend code it installs here is version-independent.
ARG TRITON_VERSION=25.09

FROM nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-py3 AS onnxruntime-backend

FROM nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-vllm-python-py3 AS gpu
COPY --from=onnxruntime-backend /opt/tritonserver/backends/onnxruntime \
     /opt/tritonserver/backends/onnxruntime
# The whisper model's runtime (python backend), pinned like pyproject.toml.
RUN pip install --no-cache-dir "faster-whisper==1.2.1" "ctranslate2==4.6.0" "av==15.1.0"
# The snapclip package: the python models import orchestrator/backends/, which imports only
# orchestrator/contracts/ (the import-linter contract `backends` in pyproject.toml), so it is
# installed without the orchestrator's dependencies; the four below are for `snapclip models
# fetch`, which fills the model volume in the chart's init container.
COPY pyproject.toml README.md /opt/snapclip/src/
COPY orchestrator /opt/snapclip/src/orchestrator
RUN pip install --no-cache-dir --no-deps --ignore-requires-python /opt/snapclip/src \
 && pip install --no-cache-dir "typer>=0.16,<1" "rich>=13.7" "huggingface-hub>=0.34" "httpx>=0.27"
# Model configs and python entry points (weights come from `snapclip models fetch`).
COPY model_repository /opt/snapclip/model_repository
RUN test -d /opt/tritonserver/backends/vllm \
 && test -d /opt/tritonserver/backends/onnxruntime \
 && python3 -c "import vllm; from packaging.version import Version as V; \
v = V(vllm.__version__); print('vLLM', v); \
assert v >= V('0.10.2'), f'vLLM {v} < 0.10.2: structured_outputs_config unsupported'"
# The NVIDIA images' unprivileged user.
USER 1000:1000
ENTRYPOINT []
CMD ["tritonserver", "--model-repository=/models"]

# CPU profile (configs/cpu.pbtxt): every model on the python backend, vLLM's CPU build in
# its own environment as locally (scripts/requirements-llm.txt), onnxruntime for CLIP.
FROM nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-py3 AS cpu
COPY scripts/requirements-llm.txt /opt/snapclip/requirements-llm.txt
RUN python3 -m venv /opt/snapclip/venv-llm \
 && /opt/snapclip/venv-llm/bin/pip install --no-cache-dir -r /opt/snapclip/requirements-llm.txt \
 && /opt/snapclip/venv-llm/bin/pip install --no-cache-dir "numpy==1.26.4" \
 && /opt/snapclip/venv-llm/bin/pip uninstall -y torchvision torchaudio torchcodec || true
RUN pip install --no-cache-dir "faster-whisper==1.2.1" "ctranslate2==4.6.0" "av==15.1.0" \
      "onnxruntime>=1.20,<2" "tokenizers>=0.20,<1" "numpy<2"
COPY pyproject.toml README.md /opt/snapclip/src/
COPY orchestrator /opt/snapclip/src/orchestrator
RUN pip install --no-cache-dir --no-deps --ignore-requires-python /opt/snapclip/src \
 && pip install --no-cache-dir "typer>=0.16,<1" "rich>=13.7" "huggingface-hub>=0.34" "httpx>=0.27" \
 && /opt/snapclip/venv-llm/bin/pip install --no-cache-dir --no-deps /opt/snapclip/src
COPY model_repository /opt/snapclip/model_repository
USER 1000:1000
ENTRYPOINT []
CMD ["tritonserver", "--model-repository=/models", "--model-config-name=cpu"]
