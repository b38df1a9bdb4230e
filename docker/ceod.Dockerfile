# ceod for one host; its roles come from the config it is started with.
FROM node:20-bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      krb5-user libkrb5-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ceo
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev && ln -s /opt/ceo/bin/ceod /usr/local/bin/ceod
