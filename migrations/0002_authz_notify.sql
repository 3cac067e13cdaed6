-- Every committed change to what the guard reads (sessions, users, memberships, member roles,
-- roles, organizations) notifies channel chorus_authz with the scope it invalidates, so app
-- instances may cache authorization data (src/server/authz). Triggers, not application code,
-- so that no write path can forget. Payloads: 'u:<userId>', 'm:<orgId>:<userId>', 'o:<orgId>',
-- '*' (everything). PostgreSQL delivers them at commit, in commit order.
CREATE FUNCTION chorus_authz_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('chorus_authz', 'u:' || OLD.id);
  ELSE
    PERFORM pg_notify('chorus_authz', 'u:' || NEW.id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION chorus_authz_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('chorus_authz', 'u:' || OLD.user_id);
  IF TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id THEN
    PERFORM pg_notify('chorus_authz', 'u:' || NEW.user_id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION chorus_authz_notify_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM pg_notify('chorus_authz', 'm:' || OLD.org_id || ':' || OLD.user_id);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM pg_notify('chorus_authz', 'm:' || NEW.org_id || ':' || NEW.user_id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION chorus_authz_notify_member_role() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
  holder uuid;
BEGIN
  FOR r IN SELECT OLD.org_id AS org_id, OLD.member_id AS member_id WHERE TG_OP IN ('UPDATE', 'DELETE')
           UNION ALL
           SELECT NEW.org_id, NEW.member_id WHERE TG_OP IN ('INSERT', 'UPDATE') LOOP
    SELECT m.user_id INTO holder FROM memberships m WHERE m.org_id = r.org_id AND m.id = r.member_id;
    IF holder IS NOT NULL THEN
      PERFORM pg_notify('chorus_authz', 'm:' || r.org_id || ':' || holder);
    ELSIF TG_OP <> 'DELETE' THEN
      PERFORM pg_notify('chorus_authz', 'o:' || r.org_id);
    END IF;
    -- A delete whose membership is gone is a cascade: the membership's own trigger notified.
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION chorus_authz_notify_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('chorus_authz', 'o:' || OLD.id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION chorus_authz_notify_role() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('chorus_authz', 'o:' || OLD.org_id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION chorus_authz_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('chorus_authz', '*');
  RETURN NULL;
END $$;
--> statement-breakpoint
-- users: any change (names, language, 2FA, deletion) is part of the signed-in user the guard caches.
CREATE TRIGGER users_authz_notify AFTER UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION chorus_authz_notify_user();
--> statement-breakpoint
-- sessions: not the once-a-minute sliding-expiry touch (last_used_at, a later expires_at).
CREATE TRIGGER sessions_authz_notify_update AFTER UPDATE ON sessions
  FOR EACH ROW WHEN (
    (to_jsonb(OLD) - 'last_used_at' - 'expires_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at' - 'expires_at')
    OR NEW.expires_at < OLD.expires_at
  ) EXECUTE FUNCTION chorus_authz_notify_session();
--> statement-breakpoint
CREATE TRIGGER sessions_authz_notify_delete AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION chorus_authz_notify_session();
--> statement-breakpoint
-- memberships: not the once-a-minute activity touch (last_active_at).
CREATE TRIGGER memberships_authz_notify_update AFTER UPDATE ON memberships
  FOR EACH ROW WHEN ((to_jsonb(OLD) - 'last_active_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_active_at'))
  EXECUTE FUNCTION chorus_authz_notify_membership();
--> statement-breakpoint
CREATE TRIGGER memberships_authz_notify AFTER INSERT OR DELETE ON memberships
  FOR EACH ROW EXECUTE FUNCTION chorus_authz_notify_membership();
--> statement-breakpoint
CREATE TRIGGER member_roles_authz_notify AFTER INSERT OR UPDATE OR DELETE ON member_roles
  FOR EACH ROW EXECUTE FUNCTION chorus_authz_notify_member_role();
--> statement-breakpoint
CREATE TRIGGER organizations_authz_notify AFTER UPDATE OR DELETE ON organizations
  FOR EACH ROW EXECUTE FUNCTION chorus_authz_notify_org();
--> statement-breakpoint
CREATE TRIGGER roles_authz_notify AFTER UPDATE OR DELETE ON roles
  FOR EACH ROW EXECUTE FUNCTION chorus_authz_notify_role();
--> statement-breakpoint
CREATE TRIGGER users_authz_notify_truncate AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION chorus_authz_notify_all();
--> statement-breakpoint
CREATE TRIGGER sessions_authz_notify_truncate AFTER TRUNCATE ON sessions
  FOR EACH STATEMENT EXECUTE FUNCTION chorus_authz_notify_all();
--> statement-breakpoint
CREATE TRIGGER memberships_authz_notify_truncate AFTER TRUNCATE ON memberships
  FOR EACH STATEMENT EXECUTE FUNCTION chorus_authz_notify_all();
--> statement-breakpoint
CREATE TRIGGER member_roles_authz_notify_truncate AFTER TRUNCATE ON member_roles
  FOR EACH STATEMENT EXECUTE FUNCTION chorus_authz_notify_all();
--> statement-breakpoint
CREATE TRIGGER organizations_authz_notify_truncate AFTER TRUNCATE ON organizations
  FOR EACH STATEMENT EXECUTE FUNCTION chorus_authz_notify_all();
--> statement-breakpoint
CREATE TRIGGER roles_authz_notify_truncate AFTER TRUNCATE ON roles
  FOR EACH STATEMENT EXECUTE FUNCTION chorus_authz_notify_all();
