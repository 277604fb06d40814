"""An empty FastAPI endpoint served exactly like the real one: the floor for /classify latency."""
from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.post("/classify")
    async def classify(body: dict):
        return {}

    return app
