from controller.auth_controller.api import router as api_router
from controller.auth_controller.pages import router as pages_router

__all__ = ["api_router", "pages_router"]
