-- databricks_auth 1.0 for the Lakebase emulator.
-- Real Lakebase: CREATE EXTENSION IF NOT EXISTS databricks_auth;
--                SELECT databricks_create_role('<identity>', 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP');
-- creates a role that logs in with the identity's OAuth tokens. Here the role is an ordinary
-- LOGIN role; the instance's login gateway (emulator/postgres/login-gateway.ts) accepts the
-- identity's tokens for it. The identity type is kept in the role's comment, where
-- the emulator's roles API reads it back (emulator/postgres/instance-server.ts, IDENTITY_MARKER).

\echo Use "CREATE EXTENSION databricks_auth" to load this file. \quit

CREATE FUNCTION databricks_create_role(identity text, type text) RETURNS text
LANGUAGE plpgsql
-- Runs with the caller's rights, so creating a role needs CREATEROLE as on Lakebase; the fixed
-- search_path keeps a caller's objects from standing in for pg_catalog functions.
SET search_path = pg_catalog
AS $function$
DECLARE
  identity_type text := upper(btrim(type));
BEGIN
  IF identity IS NULL OR identity = '' THEN
    RAISE EXCEPTION 'databricks_create_role needs the identity: a user''s email, a service principal''s application id or a group name'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Longer names would be truncated silently by CREATE ROLE and then never match at login.
  IF octet_length(identity) > 63 THEN
    RAISE EXCEPTION 'identity "%" is longer than 63 bytes, the longest Postgres role name', identity
      USING ERRCODE = 'name_too_long';
  END IF;
  IF identity_type IS NULL OR identity_type NOT IN ('USER', 'SERVICE_PRINCIPAL', 'GROUP') THEN
    RAISE EXCEPTION 'unknown identity type "%"', type
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use USER, SERVICE_PRINCIPAL or GROUP.';
  END IF;
  EXECUTE format('CREATE ROLE %I WITH LOGIN', identity);
  EXECUTE format('COMMENT ON ROLE %I IS %L', identity, 'Databricks identity: ' || identity_type);
  RETURN identity;
END
$function$;

COMMENT ON FUNCTION databricks_create_role(text, text) IS
  'Creates a LOGIN role for a Databricks identity (USER, SERVICE_PRINCIPAL or GROUP) that logs in with its OAuth tokens.';

-- The roles created for Databricks identities, with their type.
CREATE VIEW databricks_list_roles AS
  SELECT r.rolname AS role_name,
         substring(d.description FROM '^Databricks identity: (USER|SERVICE_PRINCIPAL|GROUP)$') AS identity_type
    FROM pg_catalog.pg_roles r
    JOIN pg_catalog.pg_shdescription d
      ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
   WHERE d.description ~ '^Databricks identity: (USER|SERVICE_PRINCIPAL|GROUP)$';

GRANT SELECT ON databricks_list_roles TO PUBLIC;
