-- An app may set a webhook (linkbox apps set-webhook): Standard-Webhooks
-- deliveries of what its users did (link.approved, link.denied,
-- link.unlinked, otp.expired_unverified). The secret is sealed under the
-- master secret; '' is no webhook.
ALTER TABLE connect_apps ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';
ALTER TABLE connect_apps ADD COLUMN webhook_secret TEXT NOT NULL DEFAULT '';
