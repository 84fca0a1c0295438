-- Runs once, when the data volume is empty. Each service owns one database; each service's
-- `migrate` chore creates its tables.
CREATE DATABASE users;
CREATE DATABASE tweets;
CREATE DATABASE email;
