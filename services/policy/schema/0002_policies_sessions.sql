-- services/policy/schema/0002_policies_sessions.sql
-- Placeholder (issue 3 in progress): policies, agent sessions, approvals, tenant pause.
SELECT 1;
