"""The preview room: one file of one invoice rendered for the person who clicked Preview,
uploaded to Slack, and deleted from Slack when its time is up."""
