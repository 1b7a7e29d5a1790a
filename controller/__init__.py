"""HTTP routers: parse the request, call business_val, render or return."""
