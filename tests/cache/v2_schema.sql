-- The desk cache as schema version 2 created it (dumped from sqlite_master of a new cache
-- at commit 6906004, the last version 2 desk). Run by tests/cache/v2_cache.py; never edit.
CREATE TABLE incidents (
	id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	closed_ts FLOAT, 
	data TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_incidents_closed_ts ON incidents (closed_ts);
CREATE TABLE units (
	id INTEGER NOT NULL, 
	data TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE schemes (
	id INTEGER NOT NULL, 
	expires_ts FLOAT NOT NULL, 
	data TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_schemes_expires_ts ON schemes (expires_ts);
CREATE TABLE orders (
	id INTEGER NOT NULL, 
	data TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE warning_acks (
	incident_id INTEGER NOT NULL, 
	kind VARCHAR(8) NOT NULL, 
	entity_id INTEGER NOT NULL, 
	PRIMARY KEY (incident_id, kind, entity_id)
);
CREATE TABLE meta (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
CREATE TABLE outbox (
	seq INTEGER NOT NULL, 
	id VARCHAR(64) NOT NULL, 
	data TEXT NOT NULL, 
	PRIMARY KEY (seq), 
	UNIQUE (id)
);
