# Stand-in for the official python image: `python` and `pip` on PATH, pip allowed to install.
# It trusts the build machine's CA bundle (host-ca.crt, copied in by
# scripts/build-offline-images.sh): offline networks often reach their package mirror
# through an inspecting proxy whose CA only the machine knows.
ARG BASE_IMAGE=pgstack-offline/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-pip python3-venv python-is-python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \
    && ln -s /usr/bin/pip3 /usr/local/bin/pip
COPY host-ca.crt /usr/local/share/pgstack/host-ca.crt
ENV PIP_CERT=/usr/local/share/pgstack/host-ca.crt \
    SSL_CERT_FILE=/usr/local/share/pgstack/host-ca.crt \
    REQUESTS_CA_BUNDLE=/usr/local/share/pgstack/host-ca.crt
CMD ["python3"]
