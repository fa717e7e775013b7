"""Django's Redis cache, keeping one redis-py client per connection pool.

Django makes a new `redis.Redis` for every cache call; building one costs about as much
as the round trip to Redis itself, and an API request makes several calls (throttle,
idempotency). A client is thread-safe and draws connections from its pool, so one per
pool is enough.
"""
from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
