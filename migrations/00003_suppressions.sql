-- The suppression list: numbers Huifang must never call or text again. A
-- customer who presses 9, says "stop calling" or replies STOP / 退订 / TD is
-- added at once, and the list is checked across every campaign, channel and
-- sender number (Twilio's own blocking is per sender and knows only English
-- keywords). Who added or lifted an entry, and why, is in audit_log.

-- +goose Up
CREATE TABLE suppressions (
    phone_e164  text PRIMARY KEY CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    reason      text NOT NULL CHECK (reason IN ('sms_keyword', 'sms_intent', 'voice_key', 'voice_speech',
                                                'carrier_opt_out', 'wrong_number', 'manual', 'dnc_import')),
    source      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE suppressions;
