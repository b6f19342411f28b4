# The image the recipes in docs/scheduling.md and deploy/ name:   docker build -t partnerkpi:0.1.0 .
# It runs `partnerkpi-scheduled` (exit 4, "another run holds the lock", becomes 0) as a non-root user,
# with the state on a volume. tests/deploy/test_image_steps.py runs the same install steps in a clean venv
# (no Docker engine runs on the project's build machines).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY kpi_core kpi_core
COPY connectors connectors
COPY writeback writeback
COPY partnerkpi partnerkpi
RUN python -m pip wheel --no-deps --wheel-dir /dist .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /home/partnerkpi partnerkpi \
 && mkdir -p /var/lib/partnerkpi \
 && chown partnerkpi /var/lib/partnerkpi
COPY --from=build /dist /dist
# With the postgres extra (psycopg 3), so that state.url may name a PostgreSQL database shared by workers.
RUN python -m pip install --no-cache-dir "$(echo /dist/*.whl)[postgres]" && rm -rf /dist
USER 10001
WORKDIR /var/lib/partnerkpi
VOLUME ["/var/lib/partnerkpi"]
ENV PARTNERKPI_CONFIG=/config/partnerkpi.yaml \
    PARTNERKPI_STATE_URL=sqlite:////var/lib/partnerkpi/state.sqlite
ENTRYPOINT ["partnerkpi-scheduled"]
CMD ["--log-format", "json", "sync"]
