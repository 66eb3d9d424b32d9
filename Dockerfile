# The agentrun image: the `agentrun` CLI on Python 3.11, run as an unprivileged user.
#
#   docker build -t agentrun:local .
#   docker run --rm agentrun:local --help
#
# One image serves every role of a deployment (docs/deploy.md): `worker` (the default command),
# `db upgrade` (the one-shot migration), `codec-server`, and any other `agentrun` command.
# Every dependency ships manylinux wheels, so neither stage needs a compiler.

# Both stages use the same base, so the virtualenv built in the first runs as is in the second.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# What the wheel is built from: the project metadata (its readme included) and the package.
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/agentrun \
    && /opt/agentrun/bin/pip install /wheels/agentrun-*.whl

FROM ${PYTHON_IMAGE}
# A fixed uid/gid, so volumes and Kubernetes securityContext (runAsUser: 10001) can name it.
RUN groupadd --system --gid 10001 agentrun \
    && useradd --system --uid 10001 --gid agentrun --home-dir /var/lib/agentrun \
       --create-home --shell /usr/sbin/nologin agentrun
COPY --from=builder /opt/agentrun /opt/agentrun
# AGENTRUN_DATA_DIR holds what a process keeps on local disk (the worker's private conversation
# cache, signing keys): the user's home, so it is writable without root.
ENV PATH=/opt/agentrun/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AGENTRUN_DATA_DIR=/var/lib/agentrun
WORKDIR /var/lib/agentrun
USER agentrun:agentrun
# 8080: worker health (/healthz, /readyz on AGENTRUN_HEALTH_BIND); 9464: worker metrics
# (AGENTRUN_METRICS_BIND); 8081: the codec server. None is served unless configured.
EXPOSE 8080 8081 9464
ENTRYPOINT ["agentrun"]
CMD ["worker"]
