# syntax=docker/dockerfile:1.7
# Triton for snapclip: NVIDIA's vLLM image plus what our models need. Three targets:
#   docker build -f docker/triton.Dockerfile --target gpu -t ghcr.io/snapclip/triton:25.11-snapclip0.1.0 .
#   docker build -f docker/triton.Dockerfile --target cpu -t ghcr.io/snapclip/triton:25.11-snapclip0.1.0-cpu .
#   docker build -f docker/triton.Dockerfile --target export -t ghcr.io/snapclip/triton:25.11-snapclip0.1.0-export .
#
# The one pin is TRITON_VERSION: every target builds on that release, and the chart's default
# image tag starts with it (tests/chart/test_image_pins.py). What the release brings, from the
# server's docs/introduction/compatibility.md at r25.11 (the README's GPU section has the table):
# - 25.11-vllm-python-py3: vLLM 0.11.0, CUDA 13.0.2, driver >= 580.95.05, Python 3.12.3;
# - 25.11-py3: ONNX Runtime 1.23.2 (the onnxruntime backend, with its TensorRT provider).
# The vllm backend of r25.11 parses `structured_outputs` as a JSON string
# (src/utils/vllm_backend_utils.py) and builds AsyncEngineArgs(**model.json) unconverted
# (src/model.py); orchestrator/contracts/upstream/vllm-0.11.0.json records what that vLLM
# accepts, and the build stops if the image's vLLM is another one.
ARG TRITON_VERSION=25.11
ARG VLLM_VERSION=0.11.0

FROM nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-py3 AS onnxruntime-backend

# --- gpu: the production profile (config.pbtxt of every model) -----------------------------
FROM nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-vllm-python-py3 AS gpu
ARG TRITON_VERSION
ARG VLLM_VERSION
# The -vllm-python-py3 image carries the vllm and python backends but not onnxruntime, which
# serves clip_image_encoder / clip_text_encoder: copied from the same release's -py3 image.
COPY --from=onnxruntime-backend /opt/tritonserver/backends/onnxruntime \
     /opt/tritonserver/backends/onnxruntime
COPY docker/check-libraries.sh docker/requirements-whisper-gpu.txt /opt/snapclip/docker/
COPY pyproject.toml README.md /opt/snapclip/src/
COPY orchestrator /opt/snapclip/src/orchestrator
# whisper runs in an environment of its own (its config's EXECUTION_ENV_PATH): the CTranslate2
# wheels are built for CUDA 12 and this image is CUDA 13. The python backend starts the stub of
# a model with an execution environment with <env>/lib first on LD_LIBRARY_PATH
# (src/pb_utils.cc ParseActivationScript and PrepareEnvironment, python_backend r25.11), so the
# CUDA 12 cuBLAS and cuDNN linked into <env>/lib reach only that process. The same environment
# holds the `snapclip` command the chart's init container runs (`models fetch`, `models caches`).
RUN python3 -m venv /opt/snapclip/venv \
 && /opt/snapclip/venv/bin/pip install --no-cache-dir \
      -r /opt/snapclip/docker/requirements-whisper-gpu.txt \
      "typer>=0.16,<1" "rich>=13.7" "httpx>=0.27" "tritonclient[grpc]>=2.51,<3" \
      "protobuf>=6.31,<7" "onnx>=1.17,<2" \
 && /opt/snapclip/venv/bin/pip install --no-cache-dir --no-deps /opt/snapclip/src \
 && ln -s /opt/snapclip/venv/bin/snapclip /usr/local/bin/snapclip \
 && site=$(/opt/snapclip/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
 && ln -s "$site"/nvidia/cublas/lib/*.so* "$site"/nvidia/cudnn/lib/*.so* /opt/snapclip/venv/lib/ \
 && for lib in libcublas.so.12 libcublasLt.so.12 libcudnn.so.9 libcudnn_ops.so.9 \
               libcudnn_cnn.so.9 libcudnn_graph.so.9 libcudnn_engines_precompiled.so.9 \
               libcudnn_heuristic.so.9; do \
      test -e "/opt/snapclip/venv/lib/$lib" \
        || { echo "whisper environment: $lib is missing" >&2; exit 1; }; \
    done
# The CLIP front-ends run on the image's own Python: the snapclip package (its backends/ import
# only orchestrator/contracts/: the import-linter contract `backends` in pyproject.toml) and
# ftfy for open_clip's text cleaning; numpy, pillow and tokenizers come with vLLM.
RUN pip install --no-cache-dir --no-deps --ignore-requires-python /opt/snapclip/src \
 && pip install --no-cache-dir "ftfy>=6.1,<7" \
 && python3 -c "import orchestrator.backends.clip, PIL, tokenizers, ftfy"
# Model configs and python entry points (weights come from `snapclip models fetch`).
COPY model_repository /opt/snapclip/model_repository
# Stop here rather than on a GPU node: the pinned vLLM, the three backends, and every shared
# library the models load (ldd "not found", the driver's own libraries excepted).
RUN python3 -c "import vllm, sys; v = vllm.__version__; print('vLLM', v); \
sys.exit(0 if v.split('+')[0] == '${VLLM_VERSION}' else f'vLLM {v} is not the pinned ${VLLM_VERSION}')" \
 && test -d /opt/tritonserver/backends/vllm \
 && test -d /opt/tritonserver/backends/onnxruntime \
 && test -x /opt/tritonserver/backends/python/triton_python_backend_stub \
 && /opt/snapclip/docker/check-libraries.sh "onnxruntime backend" \
      "/opt/tritonserver/backends/onnxruntime:/opt/tritonserver/lib:${LD_LIBRARY_PATH:-}" \
      /opt/tritonserver/backends/onnxruntime \
 && /opt/snapclip/docker/check-libraries.sh "python backend stub" \
      "/opt/tritonserver/lib:${LD_LIBRARY_PATH:-}" /opt/tritonserver/backends/python \
 && site=$(/opt/snapclip/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
 && /opt/snapclip/docker/check-libraries.sh "whisper (CTranslate2, CUDA 12)" \
      "/opt/snapclip/venv/lib:${LD_LIBRARY_PATH:-}" \
      "$site/ctranslate2" /opt/snapclip/venv/lib \
 && /opt/snapclip/venv/bin/python -c "import ctranslate2, faster_whisper; \
print('CTranslate2', ctranslate2.__version__, 'faster-whisper', faster_whisper.__version__)"
# The NVIDIA images' unprivileged user.
USER 1000:1000
ENTRYPOINT []
CMD ["tritonserver", "--model-repository=/models"]

# --- export: CLIP to ONNX for the GPU profile's clip models (a one-shot init step) -----------
# torch and open_clip are big and only the export needs them, so they live in their own image
# (the chart runs it as the `export-clip` init container): scripts/export_clip_onnx.py plus
# the snapclip package, whose `models fetch --model clip` runs the export with this Python.
FROM python:3.11.14-slim-bookworm AS export
ARG TRITON_VERSION
COPY scripts/requirements-export.txt /opt/snapclip/requirements-export.txt
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -r /opt/snapclip/requirements-export.txt
COPY pyproject.toml README.md /opt/snapclip/src/
COPY orchestrator /opt/snapclip/src/orchestrator
COPY scripts/export_clip_onnx.py /opt/snapclip/scripts/export_clip_onnx.py
COPY model_repository /opt/snapclip/model_repository
RUN /opt/venv/bin/pip install --no-cache-dir /opt/snapclip/src \
 && /opt/venv/bin/snapclip models fetch --help >/dev/null
ENV PATH=/opt/venv/bin:$PATH HOME=/tmp \
    SNAPCLIP_EXPORT_PYTHON=/opt/venv/bin/python \
    SNAPCLIP_EXPORT_SCRIPT=/opt/snapclip/scripts/export_clip_onnx.py
USER 1000:1000
ENTRYPOINT []
CMD ["snapclip", "models", "fetch", "--profile", "gpu", "--model", "clip", "--model-repository", "/models"]

# --- cpu: the CPU profile (configs/cpu.pbtxt): every model on the python backend ----------
# vLLM's CPU build in its own environment as locally (scripts/requirements-llm.txt), where the
# llm's configs/cpu.pbtxt looks for it: $$TRITON_MODEL_DIRECTORY/../../.venv-llm, the model
# repository's parent - /opt/snapclip for the image's own repository, / for the chart's volume
# at /models (hence the link). onnxruntime for CLIP.
FROM nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-py3 AS cpu
COPY scripts/requirements-llm.txt /opt/snapclip/requirements-llm.txt
COPY pyproject.toml README.md /opt/snapclip/src/
COPY orchestrator /opt/snapclip/src/orchestrator
RUN python3 -m venv /opt/snapclip/.venv-llm \
 && /opt/snapclip/.venv-llm/bin/pip install --no-cache-dir -r /opt/snapclip/requirements-llm.txt \
 && /opt/snapclip/.venv-llm/bin/pip install --no-cache-dir "numpy==1.26.4" \
 && /opt/snapclip/.venv-llm/bin/pip uninstall -y torchvision torchaudio torchcodec \
 && /opt/snapclip/.venv-llm/bin/pip install --no-cache-dir --no-deps /opt/snapclip/src \
 && /opt/snapclip/.venv-llm/bin/python -c "import vllm; print('vLLM CPU', vllm.__version__)" \
 && ln -s /opt/snapclip/.venv-llm /.venv-llm
RUN pip install --no-cache-dir "faster-whisper==1.2.1" "ctranslate2==4.6.0" "av==15.1.0" \
      "onnxruntime>=1.20,<2" "tokenizers>=0.20,<1" "numpy<2" \
 && pip install --no-cache-dir --no-deps --ignore-requires-python /opt/snapclip/src \
 && pip install --no-cache-dir "typer>=0.16,<1" "rich>=13.7" "huggingface-hub>=0.34" \
      "httpx>=0.27" "tritonclient[grpc]>=2.51,<3" "protobuf>=6.31,<7" "onnx>=1.17,<2" \
      "ftfy>=6.1,<7" "pillow>=10,<14" \
 && snapclip models fetch --help >/dev/null
COPY model_repository /opt/snapclip/model_repository
USER 1000:1000
ENTRYPOINT []
# The model repository sits beside .venv-llm, where the llm's EXECUTION_ENV_PATH looks.
CMD ["tritonserver", "--model-repository=/opt/snapclip/model_repository", "--model-config-name=cpu"]
