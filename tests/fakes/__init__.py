"""Stand-ins for outside services that tests run on a real socket (the Twilio REST API…)."""
