# The postgres service of docker-compose.yml: PostgreSQL with pg_partman,
# which makes the nights' partitions (migration 00085). The official image
# carries PostgreSQL's own apt repository, which packages it.
FROM postgres:15
RUN apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-$PG_MAJOR-partman" \
    && rm -rf /var/lib/apt/lists/*
