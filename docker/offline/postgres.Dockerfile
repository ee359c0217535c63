# Stand-in for the official postgres image, built from Debian packages (no registry needed).
# Honors the contract the stack relies on: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB
# (and their *_FILE variants, for Docker secrets),
# /docker-entrypoint-initdb.d, `postgres -c …` arguments, pg_isready, PGDATA.
ARG BASE_IMAGE=pgstack-offline/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        postgresql-15 postgresql-contrib-15 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /docker-entrypoint-initdb.d /var/run/postgresql /var/lib/postgresql/data \
    && chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
