# The postgres service of docker-compose.yml: PostgreSQL 15 with pg_partman,
# which makes the nights' partitions (migration 00085). Pinned to what the
# test suite runs on, Debian 12's pg_partman 4 (the image's PostgreSQL
# repository offers 5 too, which the migration also takes).
FROM postgres:15-bookworm
RUN printf 'Package: postgresql-*-partman\nPin: version 4.*\nPin-Priority: 1001\n' > /etc/apt/preferences.d/partman \
    && apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-$PG_MAJOR-partman" \
    && rm -rf /var/lib/apt/lists/*
