# One image for every service of docker-compose.yml: the demo target, the
# Locust master (with the result aggregator inside) and the workers.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The package first, so editing a locustfile does not reinstall dependencies.
COPY pyproject.toml README.md ./
COPY loadgen ./loadgen
COPY sla ./sla
COPY resilience_probe ./resilience_probe
RUN pip install .

COPY locustfiles ./locustfiles

# Nothing here needs root.
RUN useradd --create-home --uid 10001 loadgen && mkdir /keys && chown loadgen /keys
USER loadgen

# 8000 demo target, 8089 Locust web UI, 5557 Locust master, 5558 aggregator.
EXPOSE 8000 8089 5557 5558
