-- Emails are compared without regard to case (sign-in, uniqueness, invites): Someone@Example.org
-- and someone@example.org are one account. A database holding two accounts whose emails differ
-- only in case cannot take this index: the server then refuses to start and names them
-- (db::Db::connect), so an administrator can change one first.
CREATE UNIQUE INDEX users_email_nocase ON users (lower(email));
