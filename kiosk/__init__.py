"""The lobby kiosk (Kivy): take a ticket, look up a dossier; presenters hold the flow, screens stay thin."""
