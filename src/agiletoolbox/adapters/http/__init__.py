"""The HTTP adapter: the aiohttp application, its routes, middlewares and live sockets."""
