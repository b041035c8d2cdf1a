-- The schema of newsmon 0.1.0 (main before Alembic), as its create_all made it. Do not edit.
CREATE TABLE alert_locks (
	name VARCHAR(32) NOT NULL, 
	counter INTEGER NOT NULL, 
	PRIMARY KEY (name)
);
CREATE TABLE failures (
	id SERIAL NOT NULL, 
	run_id VARCHAR(64), 
	stage VARCHAR(32) NOT NULL, 
	url VARCHAR(4096) NOT NULL, 
	reason TEXT NOT NULL, 
	transient BOOLEAN NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_failures_at ON failures (at);
CREATE INDEX ix_failures_run_id ON failures (run_id);
CREATE INDEX ix_failures_url ON failures (url);
CREATE TABLE feeds (
	id SERIAL NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	name VARCHAR(512), 
	etag VARCHAR(1024), 
	last_modified VARCHAR(256), 
	last_polled_at TIMESTAMP WITH TIME ZONE, 
	last_success_at TIMESTAMP WITH TIME ZONE, 
	last_status INTEGER, 
	consecutive_failures INTEGER NOT NULL, 
	last_error TEXT, 
	PRIMARY KEY (id), 
	UNIQUE (url)
);
CREATE TABLE runs (
	id VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	started_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	stats JSON NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE schema_version (
	id SERIAL NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE stories (
	id SERIAL NOT NULL, 
	first_article_id INTEGER NOT NULL, 
	url VARCHAR(4096) NOT NULL, 
	title TEXT NOT NULL, 
	topics JSON NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	alert_state VARCHAR(16) NOT NULL, 
	alert_due BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (first_article_id)
);
CREATE INDEX ix_stories_created_at ON stories (created_at);
CREATE INDEX ix_stories_last_seen_at ON stories (last_seen_at);
CREATE TABLE articles (
	id SERIAL NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	link VARCHAR(4096) NOT NULL, 
	feed_id INTEGER, 
	source VARCHAR(512) NOT NULL, 
	origin VARCHAR(16) NOT NULL, 
	title TEXT NOT NULL, 
	text TEXT NOT NULL, 
	summary TEXT NOT NULL, 
	published_at TIMESTAMP WITH TIME ZONE, 
	fetched_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	author VARCHAR(512), 
	site_name VARCHAR(512), 
	language VARCHAR(16), 
	topics JSON NOT NULL, 
	scores JSON NOT NULL, 
	evidence JSON NOT NULL, 
	classified_at TIMESTAMP WITH TIME ZONE, 
	story_id INTEGER, 
	PRIMARY KEY (id), 
	UNIQUE (url), 
	FOREIGN KEY(feed_id) REFERENCES feeds (id), 
	FOREIGN KEY(story_id) REFERENCES stories (id)
);
CREATE INDEX ix_articles_feed_id ON articles (feed_id);
CREATE INDEX ix_articles_fetched_at ON articles (fetched_at);
CREATE INDEX ix_articles_published_at ON articles (published_at);
CREATE INDEX ix_articles_story_id ON articles (story_id);
CREATE TABLE deliveries (
	id SERIAL NOT NULL, 
	event_key VARCHAR(200) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	story_id INTEGER, 
	target_key VARCHAR(64) NOT NULL, 
	target_masked VARCHAR(2048) NOT NULL, 
	mode VARCHAR(16) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	last_error TEXT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	next_attempt_at TIMESTAMP WITH TIME ZONE, 
	claimed_at TIMESTAMP WITH TIME ZONE, 
	claimed_by VARCHAR(64), 
	sent_at TIMESTAMP WITH TIME ZONE, 
	sent_as VARCHAR(16), 
	payload JSON NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_delivery_event_target UNIQUE (event_key, target_key), 
	FOREIGN KEY(story_id) REFERENCES stories (id)
);
CREATE INDEX ix_deliveries_next_attempt_at ON deliveries (next_attempt_at);
CREATE INDEX ix_deliveries_status ON deliveries (status);
CREATE INDEX ix_deliveries_story_id ON deliveries (story_id);
CREATE TABLE feed_health (
	feed_id INTEGER NOT NULL, 
	state VARCHAR(8) NOT NULL, 
	episode INTEGER NOT NULL, 
	changed_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (feed_id), 
	FOREIGN KEY(feed_id) REFERENCES feeds (id)
);
CREATE TABLE story_sources (
	id SERIAL NOT NULL, 
	story_id INTEGER NOT NULL, 
	article_id INTEGER NOT NULL, 
	url VARCHAR(4096) NOT NULL, 
	source VARCHAR(512) NOT NULL, 
	title TEXT NOT NULL, 
	published_at TIMESTAMP WITH TIME ZONE, 
	added_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	match_score FLOAT, 
	match_reason VARCHAR(128), 
	features JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(story_id) REFERENCES stories (id), 
	UNIQUE (article_id), 
	FOREIGN KEY(article_id) REFERENCES articles (id)
);
CREATE INDEX ix_story_sources_added_at ON story_sources (added_at);
CREATE INDEX ix_story_sources_story_id ON story_sources (story_id);
INSERT INTO schema_version (id, version) VALUES (1, 1);
