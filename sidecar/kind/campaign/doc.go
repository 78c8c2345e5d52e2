// Package campaign is the home of the campaign.process kind: one bounded
// batch of a campaign per message. SQL does the bookkeeping in one
// transaction (symphony.campaign_batch hands over the next recipients,
// symphony.campaign_enqueue dispatches their emails and chains the next
// campaign.process); this package renders each recipient's email in between,
// checked by email.DecodeEmail as the schema will check it. Stalled is the
// campaigns' periodic step, run by the worker beside its maintenance, so the
// worker itself knows nothing of campaigns.
package campaign
