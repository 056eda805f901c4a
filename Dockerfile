# syntax=docker/dockerfile:1
# One image for every service: `pay serve <service>`, `pay migrate <service>` and the operator's commands.
# Built from uv.lock, the same locked versions `./test` runs; it holds no key, token or password: those are
# handed to each container at run time (`PAY_*_FILE`, README "Running in containers and on Kubernetes").

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/pay
WORKDIR /src
# The dependencies first, in a layer of their own: it is rebuilt only when the lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 pay \
    && useradd --system --uid 10001 --gid pay --no-create-home --shell /usr/sbin/nologin pay
# Owned by root: the service cannot change its own code.
COPY --from=build /opt/pay /opt/pay
ENV PATH=/opt/pay/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PAY_HOST=0.0.0.0
# Not writable by the service: a key that is not given makes it fail at start, not make a key of its own.
WORKDIR /home/pay
USER 10001:10001
EXPOSE 8080-8091
ENTRYPOINT ["pay"]
CMD ["--help"]
