"""Where bytes meet sockets: the WebSocket session and the HTTP API."""
