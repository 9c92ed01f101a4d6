from flask import Flask, render_template_string, request

app = Flask(__name__)
PAGE = """<!doctype html><title>House price</title><h1>House price</h1>
<form><label>Square feet <input name="sqft" type="number" value="{{ sqft }}"></label>
<button>Estimate</button></form>
{% if price %}<p>Estimated price: <output>${{ price }}</output></p>{% endif %}"""


@app.route("/")
def estimate():
    sqft = request.args.get("sqft", type=int)
    return render_template_string(PAGE, sqft=sqft or "", price=f"{sqft * 180:,}" if sqft else None)
