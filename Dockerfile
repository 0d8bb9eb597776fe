# The production image: the wheel and its dependencies, run as an unprivileged user.
#
#   docker build -t agiletoolbox .
#   docker run --env-file .env -p 8080:8080 agiletoolbox          # serve
#   docker run --env-file .env agiletoolbox migrate               # any other verb
#
# The build stage makes the project's wheel (hatchling; the UI assets and SQL migrations
# are package data inside it) and a wheel of every dependency; the runtime stage installs
# those wheels from the build stage without an index and keeps neither pip's cache nor
# the source tree.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --wheel-dir /wheels .

FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AGILETOOLBOX_ENV=production \
    AGILETOOLBOX_HOST=0.0.0.0 \
    AGILETOOLBOX_PORT=8080 \
    AGILETOOLBOX_DATA_DIR=/var/lib/agiletoolbox
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --no-index --find-links /wheels agiletoolbox \
    && groupadd --system --gid 10001 agiletoolbox \
    && useradd --system --uid 10001 --gid agiletoolbox --no-log-init \
        --home-dir /var/lib/agiletoolbox --create-home --shell /usr/sbin/nologin agiletoolbox
USER 10001:10001
WORKDIR /var/lib/agiletoolbox
EXPOSE 8080
# /healthz answers while the process is up; readiness (/readyz) is for load balancers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('AGILETOOLBOX_PORT', '8080'), timeout=3)"
ENTRYPOINT ["agiletoolbox"]
CMD ["serve"]
