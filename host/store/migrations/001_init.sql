-- Molecule Host schema, version 1. Applied by tern at store.Open.

CREATE TABLE workspaces (
    id                    uuid PRIMARY KEY,
    name                  text NOT NULL,
    org_id                text NOT NULL DEFAULT '',
    backend               text NOT NULL,
    runtime               text NOT NULL DEFAULT 'default',
    tier                  integer NOT NULL DEFAULT 2,
    config                jsonb NOT NULL DEFAULT '{}',
    config_hash           text NOT NULL DEFAULT '',
    status                text NOT NULL DEFAULT 'provisioning'
        CHECK (status IN ('provisioning', 'online', 'offline', 'degraded', 'failed',
                          'stopped', 'paused', 'hibernated', 'removed')),
    status_reason         text NOT NULL DEFAULT '',
    url                   text NOT NULL DEFAULT '',
    address               text NOT NULL DEFAULT '',
    backend_state         bytea,
    backend_state_version bigint NOT NULL DEFAULT 0,
    provision_deadline    timestamptz,
    last_heartbeat_at     timestamptz,
    registered_at         timestamptz,
    config_applied_hash   text NOT NULL DEFAULT '',
    uptime_seconds        bigint NOT NULL DEFAULT 0,
    active_tasks          integer NOT NULL DEFAULT 0,
    error_rate            double precision NOT NULL DEFAULT 0,
    runtime_state         text NOT NULL DEFAULT '',
    agent_card            jsonb,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- A name is unique among workspaces that are not removed.
CREATE UNIQUE INDEX workspaces_live_name_key ON workspaces (name) WHERE status <> 'removed';
CREATE INDEX workspaces_created_idx ON workspaces (created_at, id);
CREATE INDEX workspaces_heartbeat_idx ON workspaces (last_heartbeat_at)
    WHERE status IN ('online', 'degraded');
CREATE INDEX workspaces_provision_idx ON workspaces (provision_deadline)
    WHERE status = 'provisioning';

CREATE TABLE operations (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL REFERENCES workspaces (id),
    verb          text NOT NULL CHECK (verb IN ('create', 'start', 'stop', 'restart', 'delete')),
    state         text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    step          text NOT NULL DEFAULT '',
    error_kind    text NOT NULL DEFAULT '',
    error_message text NOT NULL DEFAULT '',
    attempts      integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

-- At most one operation per workspace is not final.
CREATE UNIQUE INDEX operations_one_live_key ON operations (workspace_id)
    WHERE state IN ('queued', 'running');
CREATE INDEX operations_workspace_idx ON operations (workspace_id, created_at, id);

CREATE TABLE agent_tokens (
    workspace_id uuid PRIMARY KEY REFERENCES workspaces (id),
    digest       bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    id           bigserial PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    type         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX events_workspace_idx ON events (workspace_id, created_at DESC, id DESC);
