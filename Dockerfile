# The image docker-compose.yml runs for migrate, worker, beat and flower.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY promo ./promo
COPY workers ./workers
COPY templates ./templates
RUN pip install --no-cache-dir -c requirements.lock . "flower==2.2.0" \
    && useradd --create-home promo \
    && mkdir -p /app/.promo && chown promo /app/.promo

USER promo
ENV PROMO_HOME=/app/.promo
CMD ["promo", "run"]
