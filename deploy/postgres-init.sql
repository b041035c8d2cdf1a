-- run once by the postgres image on a new volume: the Prefect server gets its own database
CREATE DATABASE prefect OWNER newsmon;
