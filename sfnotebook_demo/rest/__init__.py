"""The demo org's REST platform: OAuth and connected apps, versions and limits, sObjects."""
