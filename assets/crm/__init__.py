"""The private domain (CRM): what the warehouse hands back to the marketing tools."""
