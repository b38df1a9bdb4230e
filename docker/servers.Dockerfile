# The club's servers for development (slapd, MIT KDC, Redis, Mailman 3 core, an SMTP
# catcher, MariaDB, PostgreSQL, a dev CA), configured by the same devstack code that
# `npm run dev` uses. PostgreSQL runs as the package's `postgres` user (it refuses root).
FROM node:20-bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      slapd ldap-utils krb5-kdc krb5-admin-server krb5-user libkrb5-dev redis-server mailman3 \
      mariadb-server mariadb-client postgresql postgresql-client openssl && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ceo
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm run build:tools
