from controller.app_controller.api import router as api_router
from controller.app_controller.health import router as health_router
from controller.app_controller.pages import router as pages_router

__all__ = ["api_router", "health_router", "pages_router"]
