-- Runs once, when the PostgreSQL volume is created (docker-entrypoint-initdb.d).
-- POSTGRES_DB (fraud) holds the feedback store; MLflow and Dagster get their own databases.
CREATE DATABASE mlflow;
CREATE DATABASE dagster;
