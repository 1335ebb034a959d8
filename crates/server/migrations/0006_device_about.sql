-- Each device token keeps the name and platform its device gave when it signed in ("Work
-- laptop", linux), shown to the person in "Why am I shown as X?" and to administrators. A token
-- issued before has neither: the device shows by its id.
ALTER TABLE device_tokens ADD COLUMN device_name TEXT;
ALTER TABLE device_tokens ADD COLUMN platform TEXT;
