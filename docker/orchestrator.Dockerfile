# syntax=docker/dockerfile:1.7
# The snapclip orchestrator (`snapclip serve`): gRPC + REST + web page, FFmpeg for rendering.
#   docker build -f docker/orchestrator.Dockerfile -t ghcr.io/snapclip/orchestrator:0.1.0 .
# Non-root (uid 10001) and ready for a read-only root filesystem: the gRPC stubs are
# generated here at build time, jobs go to /data, scratch to /tmp (volumes in the chart).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
RUN python -m venv /opt/venv
COPY pyproject.toml README.md /src/
COPY orchestrator /src/orchestrator
RUN /opt/venv/bin/pip install --no-cache-dir /src \
 && /opt/venv/bin/python -c "from orchestrator.proto import load; load()" \
 && /opt/venv/bin/snapclip --help >/dev/null \
 && /opt/venv/bin/snapclip models fetch --model faces

FROM ${PYTHON_IMAGE}
# FFmpeg renders the clips; DejaVu Sans is the captions' font; espeak-ng speaks the sentence
# `snapclip smoke` (the chart's helm test) sends to whisper.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core espeak-ng \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /tmp snapclip \
 && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH HOME=/tmp PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 50051 8080 9464
ENTRYPOINT ["snapclip"]
CMD ["serve", "--host=0.0.0.0", "--jobs-dir=/data/jobs"]
