"""A small VNPay merchant API on 127.0.0.1 (``querydr`` and ``refund``) for the tests.

It checks each request's ``vnp_SecureHash`` exactly as VNPay documents it
(the ``|``-joined field list under the hash secret), answers from the
transactions a test registers, and signs its answers the same way, so the
plugin's client is tested over real HTTP against VNPay's API shape.
"""
from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from plugins.vnpay import signing


class FakeVnpay:
    def __init__(self, tmn_code: str, secret: str):
        self.tmn_code, self.secret = tmn_code, secret
        self.transactions: dict[str, dict] = {}   # txn_ref → {"amount" (×100), "status", "transaction_no", …}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                answer = outer.answer(body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.api_url = f"http://127.0.0.1:{self.server.server_port}/merchant_webapi/api/transaction"

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)

    def answer(self, body: dict) -> dict:
        with self.lock:
            self.requests.append(body)
            command = body.get("vnp_Command")
            order = signing.QUERYDR_REQUEST if command == "querydr" else signing.REFUND_REQUEST
            base = {"vnp_ResponseId": secrets.token_hex(8), "vnp_Command": command, "vnp_TmnCode": self.tmn_code,
                    "vnp_TxnRef": body.get("vnp_TxnRef")}
            if command not in ("querydr", "refund") or not signing.verify_fields(body, order, self.secret):
                return {**base, "vnp_ResponseCode": "97", "vnp_Message": "Invalid Checksum"}
            txn = self.transactions.get(body.get("vnp_TxnRef"))
            if txn is None:
                return self._signed({**base, "vnp_ResponseCode": "91", "vnp_Message": "Transaction not found"},
                                    command)
            if command == "querydr":
                answer = {**base, "vnp_ResponseCode": "00", "vnp_Message": "QueryDR Success",
                          "vnp_Amount": str(txn["amount"]), "vnp_BankCode": "NCB",
                          "vnp_PayDate": txn.get("pay_date", "20261123101500"),
                          "vnp_TransactionNo": txn.get("transaction_no", ""), "vnp_TransactionType": "01",
                          "vnp_TransactionStatus": txn["status"], "vnp_OrderInfo": "Thanh toan",
                          "vnp_PromotionCode": "", "vnp_PromotionAmount": ""}
                return self._signed(answer, command)
            refundable = txn["amount"] - txn.get("refunded", 0)
            amount = int(body.get("vnp_Amount") or 0)
            if txn["status"] != "00" or amount <= 0 or amount > refundable:
                return self._signed({**base, "vnp_ResponseCode": "94" if amount > refundable else "02",
                                     "vnp_Message": "Refund refused", "vnp_Amount": str(amount)}, command)
            txn["refunded"] = txn.get("refunded", 0) + amount
            answer = {**base, "vnp_ResponseCode": "00", "vnp_Message": "Refund success", "vnp_Amount": str(amount),
                      "vnp_BankCode": "NCB", "vnp_PayDate": "20261123120000",
                      "vnp_TransactionNo": str(70000000 + len(self.requests)),
                      "vnp_TransactionType": body.get("vnp_TransactionType"), "vnp_TransactionStatus": "05",
                      "vnp_OrderInfo": body.get("vnp_OrderInfo")}
            return self._signed(answer, command)

    def _signed(self, answer: dict, command: str) -> dict:
        order = signing.QUERYDR_RESPONSE if command == "querydr" else signing.REFUND_RESPONSE
        answer["vnp_SecureHash"] = signing.sign_fields(answer, order, self.secret)
        return answer
