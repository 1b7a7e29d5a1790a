from controller.auth_controller.api import router as api_router
from controller.auth_controller.email_api import router as email_api_router
from controller.auth_controller.email_pages import router as email_pages_router
from controller.auth_controller.face_api import router as face_api_router
from controller.auth_controller.face_pages import router as face_pages_router
from controller.auth_controller.identify_api import router as identify_router
from controller.auth_controller.pages import router as pages_router

__all__ = [
    "api_router",
    "email_api_router",
    "email_pages_router",
    "face_api_router",
    "face_pages_router",
    "identify_router",
    "pages_router",
]
